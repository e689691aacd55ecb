/**
 * R-BILL-2: Stripe Billing Meters behind the `MeterSink` port (lambdas/domain/usage.ts), through the real `stripe`
 * SDK. Meter events carry the day's absolute total (`event_time_window: day` meters keep the latest of a day); a
 * duplicate identifier is Stripe's 400 "An event already exists…", which is never retried and counts as delivered.
 * Event summaries give the value per UTC day for reconciliation. Another provider (Metronome) is another MeterSink.
 *
 * The API key is Stripe's restricted key (`rk_…`, or `sk_…`) from Secrets Manager in AWS; locally, from config.
 * `baseUrl` points the SDK at any Stripe-compatible server (local mode, the recording server of the tests).
 */
import Stripe from 'stripe';
import { dayStartSeconds, type MeterConfig, type MeterEventRequest, type MeterSink } from '../domain/usage';

export interface StripeMeterOptions {
  /** `https://api.stripe.com` unless set (local mode: `http://127.0.0.1:PORT`). */
  readonly baseUrl?: string;
  /** @default 2: safe, as every meter event carries its identifier. */
  readonly maxNetworkRetries?: number;
}

const DAY_SECONDS = 24 * 3600;

/** Stripe's words for a refused duplicate identifier. */
export const isDuplicateMeterEvent = (error: unknown): boolean =>
  (error as { statusCode?: number }).statusCode === 400 && /an event already exists/i.test((error as Error).message ?? '');

export function stripeClient(apiKey: string, options: StripeMeterOptions = {}): Stripe {
  const url = options.baseUrl ? new URL(options.baseUrl) : undefined;
  return new Stripe(apiKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: 20_000,
    telemetry: false,
    ...(url ? { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol.replace(':', '') as 'http' | 'https' } : {}),
  });
}

export class StripeMeterSink implements MeterSink {
  constructor(private readonly stripe: () => Promise<Stripe>) {}

  async send(event: MeterEventRequest): Promise<'accepted' | 'duplicate'> {
    const stripe = await this.stripe();
    try {
      await stripe.billing.meterEvents.create({
        event_name: event.eventName,
        identifier: event.identifier,
        timestamp: event.timestamp,
        payload: { stripe_customer_id: event.customerId, value: String(event.value) },
      });
      return 'accepted';
    } catch (error) {
      if (isDuplicateMeterEvent(error)) return 'duplicate';
      throw error;
    }
  }

  async dailyValues(meter: MeterConfig, customerId: string, fromDay: string, toDay: string): Promise<Map<string, number>> {
    const stripe = await this.stripe();
    const values = new Map<string, number>();
    const summaries = stripe.billing.meters.listEventSummaries(meter.meterId, {
      customer: customerId,
      start_time: dayStartSeconds(fromDay),
      end_time: dayStartSeconds(toDay) + DAY_SECONDS,
      value_grouping_window: 'day',
      limit: 100,
    });
    for await (const summary of summaries) {
      const day = new Date(summary.start_time * 1000).toISOString().slice(0, 10);
      values.set(day, (values.get(day) ?? 0) + summary.aggregated_value);
    }
    return values;
  }
}

/** The Stripe client, built once from the API key (read lazily: a cold start reads no secret it does not use). */
export function lazyStripe(apiKey: () => Promise<string>, options: StripeMeterOptions): () => Promise<Stripe> {
  let client: Promise<Stripe> | undefined;
  return () =>
    (client ??= apiKey().then(
      (key) => stripeClient(key, options),
      (error: unknown) => {
        client = undefined; // the next call reads the secret again
        throw error;
      },
    ));
}
