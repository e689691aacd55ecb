/**
 * Billing function: `POST /v1/billing/stripe/webhook`. The Stripe-Signature is verified over the raw body (base64 as
 * API Gateway may hand it) with `stripe.webhooks.constructEvent` and a tolerance before anything else happens
 * (R-BILL-3); the verified event then decides the tenant's plan (R-BILL-1, lambdas/domain/billing.ts).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { StripeEventVerifier } from '../adapters/stripe-webhooks';
import type { SigningSecretSource } from '../adapters/stripe-webhook-secret';
import { DueTerminations, StripeBilling, type BillingDeps, type DueTerminationOutcome, type TerminationStarter } from '../domain/billing';
import { DomainError } from '../domain/model';
import { lambdaEntry } from '../shared/composition';
import { httpHandler, json, lowerCaseHeaders, rawBody } from '../shared/http';
import { logger } from '../shared/logger';
import { composeBilling } from './composition';

export interface BillingHandlerDeps extends BillingDeps {
  readonly verifier: StripeEventVerifier;
  readonly signingSecret: SigningSecretSource;
  readonly terminations: TerminationStarter;
}

/** The hourly EventBridge rule's input (lib/stacks/services-stack.ts). */
export interface BillingTask {
  readonly task: 'start-due-terminations';
}

const isTask = (event: APIGatewayProxyEvent | BillingTask): event is BillingTask => (event as BillingTask).task !== undefined;

/** Stripe's events are small (a few KB); anything near API Gateway's limit is not one. */
const MAX_BODY_BYTES = 1024 * 1024;

export function createBillingHandler(deps: BillingHandlerDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const billing = new StripeBilling(deps);
  return httpHandler(async (request) => {
    if (`${request.httpMethod} ${request.resource}` !== 'POST /v1/billing/stripe/webhook') throw new DomainError('not_found', 'No such route', 404);
    const body = rawBody(request);
    if (body.byteLength > MAX_BODY_BYTES) throw new DomainError('body_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes`, 413);
    const event = deps.verifier.verify(body, lowerCaseHeaders(request)['stripe-signature'], await deps.signingSecret.secret(), deps.settings.toleranceSeconds);
    const result = await billing.handle(event);
    // R-SEC-7: ids and outcomes only.
    logger.info('stripe event', { eventId: event.id, type: event.type, outcome: result.outcome });
    return json(200, { received: true, ...result });
  });
}

/** R-TERM-1: the hourly check; a failure is a Lambda error (the Errors alarm), and the next hour makes it up. */
export function createDueTerminationsHandler(deps: BillingHandlerDeps): (event: BillingTask) => Promise<DueTerminationOutcome> {
  const due = new DueTerminations(deps);
  return async (event) => {
    if (event.task !== 'start-due-terminations') throw new Error(`Unknown billing task '${String(event.task)}'`);
    const outcome = await due.run();
    logger.info('due terminations', { started: outcome.started.length, skipped: outcome.skipped.length });
    return outcome;
  };
}

export const handler = lambdaEntry<APIGatewayProxyEvent | BillingTask, APIGatewayProxyResult | DueTerminationOutcome>(() => {
  const deps = composeBilling(process.env);
  const http = createBillingHandler(deps);
  const task = createDueTerminationsHandler(deps);
  return (event) => (isTask(event) ? task(event) : http(event));
});
