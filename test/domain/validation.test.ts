/**
 * The error answers quote zod's messages (`{ error: { code, message, details } }`). The functions bundle zod/mini
 * (issue 9), which loads no locale of its own: without lambdas/domain/zod.ts setting the English one, every message
 * below would read "Invalid input". Nothing this file imports loads classic zod (whose entry sets English for the
 * whole process), so these are the messages the functions give.
 */
import { createTenantSchema } from '../../lambdas/domain/administration';
import { parseIngestBody } from '../../lambdas/domain/events';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';
import { settingsFromEnv } from '../../lambdas/shared/settings';
import { DomainError } from '../../lambdas/domain/model';
import { parse } from '../../lambdas/domain/validation';

function refusal(work: () => unknown): DomainError {
  try {
    work();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

test('a request is refused with English messages, one detail per bad field', () => {
  const error = refusal(() => parse(createTenantSchema, { tenantId: 'acme', name: '', retentionDays: 'long', plan: 'gold', extra: 1 }));
  expect(error.code).toBe('invalid_request');
  expect(error.details).toEqual([
    { path: 'name', message: 'Too small: expected string to have >=1 characters' },
    { path: 'plan', message: 'Invalid option: expected one of "starter"|"business"|"enterprise"' },
    { path: 'retentionDays', message: 'Invalid input: expected number, received string' },
    { path: '', message: 'Unrecognized key: "extra"' },
  ]);
  expect(error.message).toBe(
    'Invalid request: name: Too small: expected string to have >=1 characters; plan: Invalid option: expected one of "starter"|"business"|"enterprise"; ' +
      'retentionDays: Invalid input: expected number, received string; (body): Unrecognized key: "extra"',
  );
});

test('an event is refused with English messages where no rule of its own applies', () => {
  const error = refusal(() =>
    parseIngestBody({
      rawBody: JSON.stringify({ type: 'api_call', method: 'GET', route: '/a', status: 99.5, latencyMs: '1' }),
      contentType: 'application/json',
      receivedAt: new Date('2026-03-01T12:00:00Z'),
      limits: DEFAULT_RUNTIME_SETTINGS.limits,
    }),
  );
  expect(error.code).toBe('invalid_event');
  expect(error.details).toEqual([
    { path: 'status', message: 'Invalid input: expected int, received number' },
    { path: 'latencyMs', message: 'Invalid input: expected number, received string' },
  ]);
});

test('a bad LUMIQO_SETTINGS stops the cold start with an English message naming the key', () => {
  const settings = { ...DEFAULT_RUNTIME_SETTINGS, webhookToleranceSeconds: 10 };
  expect(() => settingsFromEnv({ LUMIQO_SETTINGS: JSON.stringify(settings) })).toThrow(
    'LUMIQO_SETTINGS: webhookToleranceSeconds: Too small: expected number to be >=30',
  );
});
