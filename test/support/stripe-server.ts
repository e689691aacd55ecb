/**
 * A recording Stripe server for the billing meters (R-BILL-2), for the real `stripe` SDK pointed at it (host, port,
 * protocol). It records every call and holds Stripe's rules as documented:
 * - `POST /v1/billing/meter_events`: an `identifier` already seen within 24 hours is refused with a 400 "An event
 *   already exists with identifier …"; a `timestamp` older than 35 days or more than 5 minutes ahead is refused with
 *   a 400; the meter's `event_name` must exist; `payload[stripe_customer_id]` and a numeric `payload[value]` are required.
 * - `GET /v1/billing/meters/{id}/event_summaries`: per customer, start/end on minute (day: UTC day) boundaries,
 *   `value_grouping_window=day`; the meters are `event_time_window: day` with sum aggregation, so a day's value is
 *   that of the *latest* event of the day (the last accepted among those with the day's latest timestamp).
 * Faults: `dropConnectionAfterAccept(n)` accepts the next n events and then cuts the connection before answering (the
 * SDK retries, and must get the duplicate 400).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../lambdas/domain/ports';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly status: number;
}

export interface AcceptedMeterEvent {
  readonly eventName: string;
  readonly identifier: string;
  readonly customer: string;
  readonly value: number;
  /** Epoch seconds. */
  readonly timestamp: number;
  /** Server time of acceptance, ms. */
  readonly receivedAt: number;
  readonly sequence: number;
}

export interface StripeMeter {
  readonly id: string;
  readonly eventName: string;
}

const DAY_S = 24 * 3600;
const DEDUPE_MS = 24 * 3600 * 1000;
const MAX_AGE_S = 35 * DAY_S;

export class RecordingStripeServer {
  readonly calls: RecordedCall[] = [];
  readonly accepted: AcceptedMeterEvent[] = [];
  private server?: Server;
  private drops = 0;
  private sequence = 0;

  constructor(
    private readonly clock: Clock,
    readonly meters: readonly StripeMeter[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.serve(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  dropConnectionAfterAccept(times: number): void {
    this.drops = times;
  }

  /** Meter event POSTs received (accepted or not). */
  meterEventPosts(): RecordedCall[] {
    return this.calls.filter((c) => c.method === 'POST' && c.path === '/v1/billing/meter_events');
  }

  /** What the meter holds for a customer on a UTC day: the latest event of that day (event_time_window: day). */
  dayValue(eventName: string, customer: string, day: string): number | undefined {
    const start = Date.parse(`${day}T00:00:00Z`) / 1000;
    const events = this.accepted.filter((e) => e.eventName === eventName && e.customer === customer && e.timestamp >= start && e.timestamp < start + DAY_S);
    const latest = events.sort((a, b) => a.timestamp - b.timestamp || a.sequence - b.sequence).pop();
    return latest?.value;
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://stripe.local');
      const params = Object.fromEntries(new URLSearchParams(request.method === 'GET' ? url.search : Buffer.concat(chunks).toString('utf8')));
      const answer = (status: number, body: object) => {
        this.calls.push({ method: request.method ?? '', path: url.pathname, params, status });
        response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${this.calls.length}` });
        response.end(JSON.stringify(body));
      };
      if (!/^Bearer (sk|rk)_test_/.test(String(request.headers.authorization))) {
        return answer(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      }
      if (request.method === 'POST' && url.pathname === '/v1/billing/meter_events') return this.meterEvent(params, answer, response);
      const summaries = /^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/.exec(url.pathname);
      if (request.method === 'GET' && summaries) return this.eventSummaries(decodeURIComponent(summaries[1]), params, answer);
      answer(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${url.pathname})` } });
    });
  }

  private meterEvent(params: Record<string, string>, answer: (status: number, body: object) => void, response: ServerResponse): void {
    const invalid = (message: string, param?: string) => answer(400, { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } });
    const now = this.clock.now().getTime();
    const eventName = params.event_name;
    const customer = params['payload[stripe_customer_id]'];
    const value = Number(params['payload[value]']);
    const timestamp = params.timestamp === undefined ? Math.floor(now / 1000) : Number(params.timestamp);
    const identifier = params.identifier ?? `gen_${this.sequence + 1}`;
    if (!this.meters.some((m) => m.eventName === eventName)) return invalid(`No active meter was found for event_name '${eventName}'.`, 'event_name');
    if (!customer) return invalid('Missing required payload key stripe_customer_id.', 'payload');
    if (params['payload[value]'] === undefined || !Number.isFinite(value)) return invalid('The payload value must be a number.', 'payload');
    if (identifier.length > 100) return invalid('The identifier must be at most 100 characters.', 'identifier');
    if (timestamp < now / 1000 - MAX_AGE_S) return invalid('Timestamp must be within the past 35 calendar days.', 'timestamp');
    if (timestamp > now / 1000 + 300) return invalid('Timestamp must not be more than 5 minutes in the future.', 'timestamp');
    if (this.accepted.some((e) => e.identifier === identifier && now - e.receivedAt < DEDUPE_MS)) {
      return invalid(`An event already exists with identifier ${identifier}.`, 'identifier');
    }
    this.accepted.push({ eventName, identifier, customer, value, timestamp, receivedAt: now, sequence: ++this.sequence });
    if (this.drops > 0) {
      this.drops--;
      this.calls.push({ method: 'POST', path: '/v1/billing/meter_events', params, status: 0 });
      response.socket?.destroy();
      return;
    }
    answer(200, { object: 'billing.meter_event', event_name: eventName, identifier, livemode: false, created: Math.floor(now / 1000), payload: { stripe_customer_id: customer, value: String(value) }, timestamp });
  }

  private eventSummaries(meterId: string, params: Record<string, string>, answer: (status: number, body: object) => void): void {
    const meter = this.meters.find((m) => m.id === meterId);
    if (!meter) return answer(404, { error: { type: 'invalid_request_error', message: `No such billing meter: '${meterId}'` } });
    const start = Number(params.start_time);
    const end = Number(params.end_time);
    if (!params.customer) return answer(400, { error: { type: 'invalid_request_error', message: 'Missing required param: customer.', param: 'customer' } });
    if (params.value_grouping_window !== 'day' || start % DAY_S !== 0 || end % DAY_S !== 0 || end <= start) {
      return answer(400, { error: { type: 'invalid_request_error', message: 'For daily granularity, start and end times must align with UTC day boundaries.' } });
    }
    const data = [];
    for (let day = start; day < end; day += DAY_S) {
      const value = this.dayValue(meter.eventName, params.customer, new Date(day * 1000).toISOString().slice(0, 10));
      if (value !== undefined) {
        data.push({ object: 'billing.meter_event_summary', id: `mtrusg_${meterId}_${day}`, aggregated_value: value, start_time: day, end_time: day + DAY_S, livemode: false, meter: meterId });
      }
    }
    answer(200, { object: 'list', data, has_more: false, url: `/v1/billing/meters/${meterId}/event_summaries` });
  }
}
