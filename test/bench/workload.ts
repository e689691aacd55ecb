/**
 * The benchmark's workload: tenants created through the real Administration core, and realistic ~1 KB records
 * (API-call monitoring records and Stripe-style webhook deliveries) encoded as the ingest function puts them
 * on the stream.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryAuditLog, MemoryTenantDirectory } from '../../lambdas/adapters/memory';
import {
  EnvelopeTenantCrypto,
  KmsKeyringProvider,
  KmsTenantKeyManager,
  LocalKeyringProvider,
  LocalTenantKeyManager,
  type KeyringProvider,
} from '../../lambdas/adapters/envelope-crypto';
import { Administration } from '../../lambdas/domain/administration';
import { webhookEventId } from '../../lambdas/domain/ingestion';
import { newId } from '../../lambdas/domain/ids';
import type { ApiCallEvent, StreamEnvelope, WebhookEvent } from '../../lambdas/domain/model';
import type { Clock, TenantKeyManager } from '../../lambdas/domain/ports';
import type { InputRecord } from '../../lambdas/domain/processing';
import { DEFAULT_RUNTIME_SETTINGS, type RuntimeSettings } from '../../lambdas/domain/settings';
import type { FakeKms } from './fake-kms';

export const OPERATOR = 'operator:benchmark';
export const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** Tenants, their keys and the directory that holds them: what every section starts from. */
export interface ControlPlane {
  readonly keyring: 'local' | 'kms';
  readonly directory: MemoryTenantDirectory;
  readonly audit: MemoryAuditLog;
  readonly keys: TenantKeyManager;
  readonly crypto: EnvelopeTenantCrypto;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  /** Envelope crypto with cold data-key caches, as a fresh Lambda container has. */
  freshCrypto(): EnvelopeTenantCrypto;
  close(): Promise<void>;
}

function controlPlane(keyring: ControlPlane['keyring'], keyrings: KeyringProvider, keys: TenantKeyManager, close: () => Promise<void>): ControlPlane {
  return {
    keyring,
    directory: new MemoryTenantDirectory(SYSTEM_CLOCK),
    audit: new MemoryAuditLog(),
    keys,
    crypto: new EnvelopeTenantCrypto(keyrings),
    settings: DEFAULT_RUNTIME_SETTINGS,
    clock: SYSTEM_CLOCK,
    freshCrypto: () => new EnvelopeTenantCrypto(keyrings),
    close,
  };
}

/** Local mode: raw AES-256 key files in a temporary directory. */
export async function localControlPlane(): Promise<ControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'lumiqo-bench-keys-'));
  return controlPlane('local', new LocalKeyringProvider(dir), new LocalTenantKeyManager(dir), () => rm(dir, { recursive: true, force: true }));
}

/** AWS mode: one KMS key per tenant, answered by the fake KMS. */
export function kmsControlPlane(kms: FakeKms): ControlPlane {
  const keys = new KmsTenantKeyManager(kms.client, { deployment: 'bench', aliasPrefix: 'alias/lumiqo-bench/tenant/' });
  return controlPlane('kms', new KmsKeyringProvider(kms.client), keys, async () => undefined);
}

/** Creates `count` tenants through the real administration core (key, subject key, directory entry). */
export async function createTenants(plane: ControlPlane, count: number, prefix: string): Promise<string[]> {
  const admin = new Administration(plane);
  const tenantIds = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (const tenantId of tenantIds) await admin.createTenant(OPERATOR, { tenantId, name: `Benchmark ${tenantId}`, plan: 'business' });
  return tenantIds;
}

const ROUTES = ['/v1/orders', '/v1/orders/:orderId', '/v1/orders/:orderId/items', '/v1/customers/:customerId', '/v1/carts/:cartId', '/v1/search', '/v1/payments', '/v1/sessions'];
const METHODS = ['GET', 'GET', 'POST', 'GET', 'PUT', 'GET', 'POST', 'DELETE'];
/** Distinct per run, so records of separate runs never collide as duplicates. */
const RUN = randomBytes(4).toString('hex');
let sequence = 0;

/** An API-monitoring record (R-ING-1): request metadata plus the response payload, which names a customer. */
export function apiCallEvent(n: number, timestamp: string): ApiCallEvent {
  const route = n % ROUTES.length;
  const customer = n % 500;
  const status = n % 50 === 0 ? 503 : n % 9 === 0 ? 404 : 200;
  return {
    type: 'api_call',
    method: METHODS[route],
    route: ROUTES[route],
    status,
    latencyMs: 12 + ((n * 37) % 480),
    requestBytes: 380 + (n % 200),
    responseBytes: 1200 + (n % 900),
    timestamp,
    payload: {
      order: {
        id: `ord_${RUN}${n}`,
        status: status === 200 ? 'confirmed' : 'unavailable',
        currency: 'EUR',
        total: 129.9 + (n % 70),
        items: [
          { sku: 'SKU-48213-BLK-M', quantity: 1, unitPrice: 79.9, title: 'Merino crew neck, black, M' },
          { sku: 'SKU-10077-NAT', quantity: 2, unitPrice: 25, title: 'Organic cotton socks, natural' },
        ],
        shipping: { method: 'express', carrier: 'DHL', country: 'DE', postcode: '10115' },
        customer: { userId: `usr_${customer}`, email: `customer${customer}@example.com`, segment: 'returning', locale: 'de-DE' },
      },
    },
    properties: { client: 'web', appVersion: '5.12.3', region: 'eu-central-1', traceId: `1-${RUN}-${n.toString(16).padStart(24, '0')}`, feature: 'checkout-v2', sessionId: `ses_${RUN}${customer}_${n % 97}` },
  };
}

/** A Stripe `invoice.paid` event as Stripe sends it: the customer appears by id and by email. */
export function stripeInvoicePaid(n: number, createdSeconds: number): Record<string, unknown> {
  const customer = n % 500;
  return {
    id: `evt_${RUN}${String(n).padStart(10, '0')}`,
    object: 'event',
    api_version: '2024-06-20',
    created: createdSeconds,
    type: 'invoice.paid',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        id: `in_${RUN}${n}`,
        object: 'invoice',
        customer: `cus_${RUN}${customer}`,
        customer_email: `customer${customer}@example.com`,
        amount_due: 4900,
        amount_paid: 4900,
        currency: 'eur',
        status: 'paid',
        billing_reason: 'subscription_cycle',
        hosted_invoice_url: `https://invoice.stripe.com/i/acct_1Bench/test_${RUN}${n}`,
        subscription: `sub_${RUN}${customer}`,
        lines: { object: 'list', data: [{ id: `il_${RUN}${n}`, amount: 4900, description: '1 x Business plan (at EUR 49.00 / month)', period: { start: createdSeconds - 2_592_000, end: createdSeconds } }] },
      },
    },
  };
}

export const WEBHOOK_SOURCE = 'stripe-billing';

function webhookEnvelope(tenantId: string, n: number, now: Date): StreamEnvelope {
  const payload = stripeInvoicePaid(n, Math.floor(now.getTime() / 1000));
  const deliveryId = payload.id as string;
  const event: WebhookEvent = { type: 'webhook', name: 'invoice.paid', timestamp: now.toISOString(), sourceId: WEBHOOK_SOURCE, scheme: 'stripe', deliveryId, payload };
  return { v: 1, tenantId, eventId: webhookEventId(WEBHOOK_SOURCE, deliveryId), receivedAt: now.toISOString(), event };
}

/**
 * `count` stream records, half API calls and half webhooks, spread round-robin over the tenants, 10 ms apart
 * (so a batch of 100 spans one or two minutes of rollups, as a busy shard's would).
 */
export function streamRecords(count: number, tenantIds: readonly string[], start = new Date()): InputRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = sequence++;
    const at = new Date(start.getTime() + i * 10);
    const tenantId = tenantIds[i % tenantIds.length];
    const envelope: StreamEnvelope =
      i % 2 === 0
        ? { v: 1, tenantId, eventId: newId('ev', at), receivedAt: at.toISOString(), event: apiCallEvent(n, at.toISOString()) }
        : webhookEnvelope(tenantId, n, at);
    return { id: String(n).padStart(20, '0'), data: Buffer.from(JSON.stringify(envelope), 'utf8') };
  });
}

export const meanBytes = (records: readonly InputRecord[]): number =>
  records.reduce((sum, record) => sum + record.data.byteLength, 0) / records.length;
