import type * as z from './zod';
import { DomainError } from './model';

/** Validates a request with its zod schema; a failure is `invalid_request` listing each bad field. */
export function parse<T extends z.ZodMiniType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new DomainError('invalid_request', `Invalid request: ${details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; ')}`, 400, details);
  }
  return result.data;
}
