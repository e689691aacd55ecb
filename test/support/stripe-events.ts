/** Stripe events as Stripe sends them (the fields billing reads, and some it must drop), signed by the real SDK. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import Stripe from 'stripe';
import { apiRequest } from '../handler/fixtures';

export const WEBHOOK_PATH = '/v1/billing/stripe/webhook';

let sequence = 0;
export const eventId = () => `evt_test${(++sequence).toString().padStart(6, '0')}${Math.random().toString(36).slice(2, 8)}`;

export interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  data: { object: Record<string, unknown> };
}

export function stripeEvent(type: string, object: Record<string, unknown>, created: number, id = eventId()): StripeEvent {
  return { id, object: 'event', type, created, api_version: '2025-11-17.clover', livemode: false, data: { object } };
}

export const checkoutCompleted = (tenantId: string, customer: string, created: number, subscription = 'sub_A1') =>
  stripeEvent('checkout.session.completed', {
    id: 'cs_test_a1',
    object: 'checkout.session',
    mode: 'subscription',
    client_reference_id: tenantId,
    customer,
    subscription,
    // R-SEC-10: what Stripe sends and billing must never keep.
    customer_details: { email: 'ann@example.com', name: 'Ann Example', address: { line1: '1 Main St', city: 'Springfield', country: 'US' } },
  }, created);

export const subscriptionEvent = (
  type: 'created' | 'updated' | 'deleted',
  options: { customer: string; price: string; status?: string; created: number; subscription?: string; tenantId?: string; endedAt?: number },
) =>
  stripeEvent(`customer.subscription.${type}`, {
    id: options.subscription ?? 'sub_A1',
    object: 'subscription',
    customer: options.customer,
    status: options.status ?? (type === 'deleted' ? 'canceled' : 'active'),
    items: { object: 'list', data: [{ id: 'si_1', price: { id: options.price, object: 'price', unit_amount: 4900, currency: 'eur' } }] },
    metadata: options.tenantId ? { tenantId: options.tenantId } : {},
    default_payment_method: 'pm_card_visa',
    ...(options.endedAt !== undefined ? { ended_at: options.endedAt, canceled_at: options.endedAt } : {}),
  }, options.created);

export const invoiceEvent = (type: 'paid' | 'payment_failed', customer: string, created: number) =>
  stripeEvent(`invoice.${type}`, {
    id: 'in_test1',
    object: 'invoice',
    customer,
    status: type === 'paid' ? 'paid' : 'open',
    amount_due: 4900,
    amount_paid: type === 'paid' ? 4900 : 0,
    currency: 'eur',
    created,
    customer_address: { line1: '1 Main St', country: 'US' },
    customer_email: 'ann@example.com',
    parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_A1' } },
  }, created);

/** The webhook request API Gateway hands the function: the body as Stripe sent it, signed with `secret`. */
export function signedWebhook(
  event: StripeEvent | string,
  secret: string,
  options: { timestamp?: number; base64?: boolean; header?: string | null; body?: string } = {},
): APIGatewayProxyEvent {
  const payload = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}) });
  const header = options.header === undefined ? signature : options.header;
  return apiRequest('POST', WEBHOOK_PATH, {
    body: options.body ?? payload,
    ...(options.base64 ? { base64: true } : {}),
    headers: header === null ? {} : { 'Stripe-Signature': header },
    operator: null,
  });
}
