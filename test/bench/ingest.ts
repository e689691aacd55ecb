/**
 * Section 4: CPU time of the ingest handler per request (median and p99), with in-memory adapters and a
 * publisher that serialises each envelope as the Kinesis adapter does. Signing and request building happen
 * outside the measured call. Baseline: JSON.parse of the same body, measured the same way.
 */
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Administration } from '../../lambdas/domain/administration';
import type { WebhookScheme } from '../../lambdas/domain/model';
import type { EventPublisher } from '../../lambdas/domain/ports';
import { createIngestHandler } from '../../lambdas/ingest/handler';
import type { Figure } from './report';
import { cpuMicrosPerCall, median, percentile, round } from './stats';
import { apiCallEvent, createTenants, localControlPlane, OPERATOR, stripeInvoicePaid } from './workload';

interface Request {
  readonly body: string;
  readonly event: APIGatewayProxyEvent;
}

interface Case {
  readonly name: string;
  readonly calls: number;
  readonly warmup: number;
  build(i: number): Request;
}

function apiGatewayEvent(resource: string, body: string, headers: Record<string, string>, pathParameters: Record<string, string> | null = null): APIGatewayProxyEvent {
  return {
    resource,
    path: resource,
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    pathParameters,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body, 'utf8');
const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);

/** Each sender signs the raw body its own way (the same signers as test/domain/webhook-signatures.test.ts). */
const SIGNERS: Readonly<Record<WebhookScheme, (body: string, secret: string, deliveryId: string, at: Date) => Record<string, string>>> = {
  standard: (body, secret, deliveryId, at) => ({
    'webhook-id': deliveryId,
    'webhook-timestamp': String(unixSeconds(at)),
    'webhook-signature': new Webhook(secret).sign(deliveryId, at, body),
  }),
  stripe: (body, secret, _deliveryId, at) => ({
    'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: unixSeconds(at) }),
  }),
  shopify: (body, secret, deliveryId, at) => ({
    'x-shopify-hmac-sha256': hmac(secret, body).digest('base64'),
    'x-shopify-webhook-id': deliveryId,
    'x-shopify-topic': 'orders/paid',
    'x-shopify-triggered-at': at.toISOString(),
  }),
  github: (body, secret, deliveryId) => ({
    'x-hub-signature-256': `sha256=${hmac(secret, body).digest('hex')}`,
    'x-github-delivery': deliveryId,
    'x-github-event': 'invoice',
  }),
};

export async function ingestSection(): Promise<{ figures: Figure[]; details: unknown }> {
  const plane = await localControlPlane();
  try {
    const [tenantId] = await createTenants(plane, 1, 'bench-ingest');
    const admin = new Administration(plane);
    const { apiKey } = await admin.issueApiKey(OPERATOR, tenantId);
    let published = 0;
    const publisher: EventPublisher = {
      async publish(envelopes) {
        for (const envelope of envelopes) published += Buffer.byteLength(JSON.stringify(envelope), 'utf8') > 0 ? 1 : 0;
      },
    };
    const handler = createIngestHandler({ ...plane, publisher });
    const auth = { authorization: `Bearer ${apiKey}` };
    const now = () => new Date();
    const timestamp = () => now().toISOString();

    const cases: Case[] = [
      {
        name: 'single event, API key',
        calls: 1_000,
        warmup: 100,
        build: (i) => {
          const body = JSON.stringify(apiCallEvent(i, timestamp()));
          return { body, event: apiGatewayEvent('/v1/events', body, auth) };
        },
      },
      {
        name: 'batch of 100 events, API key',
        calls: 200,
        warmup: 20,
        build: (i) => {
          const body = JSON.stringify({ events: Array.from({ length: 100 }, (_, j) => apiCallEvent(i * 100 + j, timestamp())) });
          return { body, event: apiGatewayEvent('/v1/events', body, auth) };
        },
      },
    ];
    for (const scheme of Object.keys(SIGNERS) as WebhookScheme[]) {
      const source = await admin.createWebhookSource(OPERATOR, tenantId, { sourceId: `bench-${scheme}`, scheme });
      cases.push({
        name: `signed webhook, ${scheme}`,
        calls: 500,
        warmup: 50,
        build: (i) => {
          const at = now();
          const payload = stripeInvoicePaid(i, unixSeconds(at));
          const body = JSON.stringify(payload);
          const headers = SIGNERS[scheme](body, source.secret, `${scheme}-${payload.id as string}`, at);
          return { body, event: apiGatewayEvent('/v1/hooks/{tenantId}/{sourceId}', body, headers, { tenantId, sourceId: source.sourceId }) };
        },
      });
    }

    const figures: Figure[] = [];
    const details: Record<string, unknown>[] = [];
    for (const c of cases) {
      let request: Request | undefined;
      const prepare = (i: number) => {
        request = c.build(i);
      };
      const failures: string[] = [];
      const handlerSamples = await cpuMicrosPerCall(c.calls, c.warmup, async () => {
        const answer = await handler(request!.event);
        if (answer.statusCode !== 202) failures.push(`${answer.statusCode} ${answer.body}`);
      }, prepare);
      if (failures.length > 0) throw new Error(`${c.name}: ${failures.length} requests not accepted, first: ${failures[0]}`);
      const parseSamples = await cpuMicrosPerCall(c.calls, c.warmup, () => JSON.parse(request!.body), prepare);
      const baselineMedian = median(parseSamples);
      figures.push({
        section: '4 ingest',
        name: `CPU per request, ${c.name} (p99 ${round(percentile(handlerSamples, 99))} µs)`,
        value: median(handlerSamples),
        unit: 'µs median',
        baseline: { name: `JSON.parse of the ${request!.body.length.toLocaleString('en-US')}-byte body`, value: baselineMedian },
      });
      details.push({
        case: c.name,
        calls: c.calls,
        bodyBytes: request!.body.length,
        handlerMicros: { median: median(handlerSamples), p99: percentile(handlerSamples, 99) },
        jsonParseMicros: { median: baselineMedian, p99: percentile(parseSamples, 99) },
      });
    }
    if (published === 0) throw new Error('the ingest handler published nothing');
    return { figures, details };
  } finally {
    await plane.close();
  }
}
