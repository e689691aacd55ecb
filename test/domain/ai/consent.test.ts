/** R-DSR-4, R-AI-4: the AI function's consent gate (lambdas/domain/ai/reader.ts). */
import { assertAiAllowed } from '../../../lambdas/domain/ai/reader';
import { NO_OBJECTIONS, type ConsentFlags, type ProcessingPurpose } from '../../../lambdas/domain/consent';
import { DomainError } from '../../../lambdas/domain/model';

const flags = (tenantOff: ProcessingPurpose[], subjectsOff: [string, ProcessingPurpose[]][] = []): ConsentFlags => ({
  tenantOff: new Set(tenantOff),
  subjectsOff: new Map(subjectsOff.map(([hash, off]) => [hash, new Set(off)])),
});

test('a tenant-wide ai objection refuses the turn with 403 ai_objected', () => {
  let error: unknown;
  try {
    assertAiAllowed(flags(['ai']));
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code: 'ai_objected', status: 403 });
});

test('can: no objection, an analytics-only objection, or a subject\'s ai objection (filtered per record) lets the turn run', () => {
  expect(() => assertAiAllowed(NO_OBJECTIONS)).not.toThrow();
  expect(() => assertAiAllowed(flags(['analytics']))).not.toThrow();
  expect(() => assertAiAllowed(flags([], [['h-ann', ['ai']]]))).not.toThrow();
});
