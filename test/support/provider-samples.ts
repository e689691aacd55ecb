/**
 * Webhook bodies as each accepted scheme documents them (trimmed to the fields around the identifiers, structure
 * kept): Stripe events (API 2025 shapes), Shopify Admin webhooks, GitHub webhooks, and Standard Webhooks payloads of
 * two well-known senders (Clerk's `user.created`, Resend's `email.delivered`). Each sample lists the identifiers a
 * data-subject request may name and that must find it (R-DSR-1, R-DSR-2).
 */
import type { WebhookEvent, WebhookScheme } from '../../lambdas/domain/model';

export interface ProviderSample {
  readonly scheme: WebhookScheme;
  readonly name: string;
  readonly payload: Record<string, unknown>;
  /** Every identifier of a person in the body, as a request would name it. */
  readonly identifiers: readonly { readonly kind: string; readonly value: string }[];
  readonly shopDomain?: string;
}

const stripe = (type: string, object: Record<string, unknown>) => ({
  id: 'evt_1QxYz2LkdIwHu7ix0aBcDeFg',
  object: 'event',
  api_version: '2025-11-17.clover',
  created: 1764583200,
  livemode: false,
  pending_webhooks: 1,
  request: { id: 'req_8sTqXvYkP1m2Qa', idempotency_key: 'a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6' },
  type,
  data: { object },
});

export const PROVIDER_SAMPLES: readonly ProviderSample[] = [
  {
    scheme: 'stripe',
    name: 'customer.created',
    payload: stripe('customer.created', {
      id: 'cus_RzQ8xJ3kLm2Np4',
      object: 'customer',
      address: null,
      balance: 0,
      created: 1764583200,
      currency: null,
      email: 'Jenny.Rosen@example.com',
      invoice_prefix: 'A1B2C3D4',
      livemode: false,
      metadata: {},
      name: 'Jenny Rosen',
      phone: '+1 (415) 555-0100',
      shipping: null,
    }),
    identifiers: [
      { kind: 'customer_id', value: 'cus_RzQ8xJ3kLm2Np4' },
      { kind: 'email', value: 'jenny.rosen@example.com' },
      { kind: 'phone', value: '+14155550100' },
    ],
  },
  {
    scheme: 'stripe',
    name: 'charge.succeeded',
    payload: stripe('charge.succeeded', {
      id: 'ch_3QxYz2LkdIwHu7ix1',
      object: 'charge',
      amount: 4900,
      billing_details: { address: { city: 'San Francisco', country: 'US', line1: '510 Townsend St' }, email: 'chuck@example.org', name: 'Chuck Doe', phone: '+1 415 555 0199' },
      currency: 'usd',
      customer: 'cus_Chuck9QwErTy01',
      payment_intent: 'pi_3QxYz2LkdIwHu7ix1',
      payment_method_details: { card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 }, type: 'card' },
      receipt_email: 'receipts+chuck@example.org',
      status: 'succeeded',
    }),
    identifiers: [
      { kind: 'customer_id', value: 'cus_Chuck9QwErTy01' },
      { kind: 'email', value: 'chuck@example.org' },
      { kind: 'email', value: 'receipts+chuck@example.org' },
      { kind: 'phone', value: '+14155550199' },
    ],
  },
  {
    scheme: 'stripe',
    name: 'invoice.paid',
    payload: stripe('invoice.paid', {
      id: 'in_1QxYz2LkdIwHu7ix',
      object: 'invoice',
      amount_paid: 4900,
      customer: 'cus_Dana7AsDfGh02',
      customer_email: 'dana@example.net',
      customer_name: 'Dana Scully',
      customer_phone: '+44 20 7946 0958',
      customer_address: { city: 'London', country: 'GB' },
      status: 'paid',
      subscription: 'sub_1QxYz2LkdIwHu7ix',
    }),
    identifiers: [
      { kind: 'customer_id', value: 'cus_Dana7AsDfGh02' },
      { kind: 'email', value: 'dana@example.net' },
      { kind: 'phone', value: '+442079460958' },
    ],
  },
  {
    scheme: 'stripe',
    name: 'checkout.session.completed',
    payload: stripe('checkout.session.completed', {
      id: 'cs_test_a1b2c3',
      object: 'checkout.session',
      customer: 'cus_Eve5ZxCvBn03',
      customer_details: { address: { country: 'DE' }, email: 'eve@example.de', name: 'Eve Example', phone: null, tax_exempt: 'none' },
      customer_email: null,
      mode: 'payment',
      payment_status: 'paid',
    }),
    identifiers: [
      { kind: 'customer_id', value: 'cus_Eve5ZxCvBn03' },
      { kind: 'email', value: 'eve@example.de' },
    ],
  },
  {
    scheme: 'shopify',
    name: 'orders/create',
    shopDomain: 'jsmith.myshopify.com',
    payload: {
      id: 5981292027193,
      admin_graphql_api_id: 'gid://shopify/Order/820982911946154508',
      contact_email: 'jon@example.com',
      email: 'jon@example.com',
      phone: null,
      currency: 'USD',
      total_price: '403.00',
      billing_address: { first_name: 'Jon', last_name: 'Snow', address1: '123 Billing Street', phone: '555-555-BILL', city: 'Billtown', country_code: 'US' },
      shipping_address: { first_name: 'Steve', last_name: 'Shipper', address1: '123 Shipping Street', phone: '555-555-SHIP', city: 'Shippington' },
      customer: {
        id: 7345678901234,
        email: 'john@example.com',
        first_name: 'John',
        last_name: 'Smith',
        phone: '+16135551111',
        default_address: { id: 8456789012345, phone: '123-123-1234', city: 'Ottawa' },
      },
      line_items: [{ id: 14560289202484, name: 'Aviator sunglasses', price: '199.00', quantity: 1 }],
    },
    identifiers: [
      { kind: 'email', value: 'jon@example.com' },
      { kind: 'email', value: 'john@example.com' },
      { kind: 'customer_id', value: '7345678901234' },
      { kind: 'phone', value: '+16135551111' },
      { kind: 'phone', value: '555-555-BILL' },
      { kind: 'phone', value: '555-555-SHIP' },
      { kind: 'phone', value: '1231231234' },
      { kind: 'shop_domain', value: 'jsmith.myshopify.com' },
    ],
  },
  {
    scheme: 'shopify',
    name: 'customers/create',
    shopDomain: 'jsmith.myshopify.com',
    payload: {
      id: 6925783957826,
      email: 'bob@biller.com',
      created_at: '2026-11-30T12:00:00-05:00',
      first_name: 'Bob',
      last_name: 'Biller',
      phone: '+1 613-555-0142',
      state: 'disabled',
      addresses: [{ id: 1053317316, customer_id: 6925783957826, phone: '613-555-0143', city: 'Ottawa' }],
      email_marketing_consent: { state: 'not_subscribed', opt_in_level: null },
    },
    identifiers: [
      { kind: 'email', value: 'bob@biller.com' },
      { kind: 'customer_id', value: '6925783957826' },
      { kind: 'phone', value: '+16135550142' },
      { kind: 'phone', value: '6135550143' },
    ],
  },
  {
    scheme: 'github',
    name: 'push',
    payload: {
      ref: 'refs/heads/main',
      before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      after: '0000000000000000000000000000000000000001',
      repository: { id: 186853002, name: 'Hello-World', full_name: 'octo-org/Hello-World', owner: { login: 'octo-org', id: 6811672, type: 'Organization' } },
      pusher: { name: 'monalisa', email: 'mona@octocat.example' },
      sender: { login: 'monalisa', id: 21031067, node_id: 'MDQ6VXNlcjIxMDMxMDY3', type: 'User', site_admin: false },
      commits: [
        {
          id: '0000000000000000000000000000000000000001',
          message: 'Fix the README',
          author: { name: 'Hubot', email: 'hubot@robots.example', username: 'hubot' },
          committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
        },
      ],
    },
    identifiers: [
      { kind: 'username', value: 'monalisa' },
      { kind: 'email', value: 'mona@octocat.example' },
      { kind: 'username', value: 'hubot' },
      { kind: 'email', value: 'hubot@robots.example' },
    ],
  },
  {
    scheme: 'github',
    name: 'issues',
    payload: {
      action: 'opened',
      issue: {
        number: 1347,
        title: 'Found a bug',
        user: { login: 'octocat', id: 1, type: 'User' },
        assignee: { login: 'hubber', id: 2, type: 'User' },
        body: "I'm having a problem with this.",
      },
      repository: { id: 1296269, full_name: 'octocat/Hello-World', owner: { login: 'octocat', id: 1 } },
      sender: { login: 'octocat', id: 1, type: 'User' },
    },
    identifiers: [
      { kind: 'username', value: 'octocat' },
      { kind: 'username', value: 'hubber' },
    ],
  },
  {
    scheme: 'standard',
    name: 'user.created',
    payload: {
      type: 'user.created',
      timestamp: '2026-11-30T12:00:00.000Z',
      object: 'event',
      data: {
        id: 'user_29w83sxmDNGwOuEthce5gg56FcC',
        object: 'user',
        username: 'ex-ample',
        first_name: 'Example',
        email_addresses: [{ id: 'idn_29w83yL7CwVlJXylYLxcslromF1', email_address: 'example@example.org', verification: { status: 'verified' } }],
        phone_numbers: [{ id: 'idn_29w83yL7CwVlJXylYLxcslromF2', phone_number: '+1 (555) 010-2000' }],
        external_id: null,
        created_at: 1654012591514,
      },
    },
    identifiers: [
      { kind: 'email', value: 'example@example.org' },
      { kind: 'phone', value: '+15550102000' },
      { kind: 'username', value: 'ex-ample' },
    ],
  },
  {
    scheme: 'standard',
    name: 'email.delivered',
    payload: {
      type: 'email.delivered',
      created_at: '2026-11-30T12:00:00.000Z',
      data: {
        email_id: '56761188-7520-42d8-8898-ff6fc54ce618',
        from: 'Acme <onboarding@acme.example>',
        to: ['delivered@example.com'],
        subject: 'Sending this example',
        created_at: '2026-11-30T11:59:59.000Z',
      },
    },
    identifiers: [{ kind: 'email', value: 'delivered@example.com' }],
  },
  {
    scheme: 'standard',
    name: 'invoice.created',
    payload: { type: 'invoice.created', timestamp: '2026-11-30T12:00:00.000Z', data: { invoice_id: 'inv_42', user_id: 'usr_9000', customer_id: 'acct_77', customer: { email: 'payer@example.com' } } },
    identifiers: [
      { kind: 'user_id', value: 'usr_9000' },
      { kind: 'customer_id', value: 'acct_77' },
      { kind: 'email', value: 'payer@example.com' },
    ],
  },
];

/** The platform event ingest makes of a verified delivery of `sample` (domain/ingestion.ts). */
export function webhookEventOf(sample: ProviderSample, deliveryId: string, timestamp: string): WebhookEvent {
  return {
    type: 'webhook',
    name: sample.name,
    timestamp,
    sourceId: sample.scheme,
    scheme: sample.scheme,
    deliveryId,
    ...(sample.shopDomain ? { shopDomain: sample.shopDomain } : {}),
    payload: sample.payload,
  };
}
