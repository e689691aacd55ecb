/**
 * R-BILL-3: Stripe's own verification (`stripe.webhooks.constructEvent`) over the raw body, with a tolerance, before
 * anything else looks at the event. Its failures become the platform's stable error codes (README "API").
 */
import Stripe from 'stripe';
import type { StripeEventEnvelope } from '../domain/billing';
import { DomainError } from '../domain/model';

export interface StripeEventVerifier {
  /** The verified event, or a DomainError: missing_signature, timestamp_out_of_tolerance, invalid_signature (401). */
  verify(rawBody: Buffer, signatureHeader: string | undefined, secret: string, toleranceSeconds: number): StripeEventEnvelope;
}

export const stripeEventVerifier: StripeEventVerifier = {
  verify(rawBody, signatureHeader, secret, toleranceSeconds) {
    if (!signatureHeader) throw new DomainError('missing_signature', 'the Stripe-Signature header is required', 401);
    let event: { id?: unknown; type?: unknown; created?: unknown; data?: { object?: unknown } };
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret, toleranceSeconds) as unknown as typeof event;
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (message.includes('Timestamp outside the tolerance zone')) {
        throw new DomainError('timestamp_out_of_tolerance', `the Stripe signature is more than ${toleranceSeconds} s old`, 401);
      }
      if ((error as { type?: string }).type === 'StripeSignatureVerificationError') {
        throw new DomainError('invalid_signature', 'the Stripe signature does not match', 401);
      }
      // The signature matched but the body is not JSON.
      throw new DomainError('malformed_json', 'the Stripe event body is not valid JSON', 400);
    }
    const { id, type, created, data } = event;
    if (typeof id !== 'string' || typeof type !== 'string' || typeof created !== 'number' || typeof data?.object !== 'object' || data.object === null) {
      throw new DomainError('invalid_request', 'the Stripe event lacks id, type, created or data.object', 400);
    }
    return { id, type, created, object: data.object as Record<string, unknown> };
  },
};
