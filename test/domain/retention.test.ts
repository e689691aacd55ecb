/**
 * R-RET-1: event retention per plan, and per tenant within the plan's bounds.
 */
import { expiresAtEpochSeconds, retentionDaysFor, validateRetentionOverride } from '../../lambdas/domain/retention';
import { DomainError } from '../../lambdas/domain/model';
import { DEFAULT_RUNTIME_SETTINGS as SETTINGS } from '../../lambdas/domain/settings';

describe('R-RET-1: retentionDaysFor', () => {
  it('uses the plan default when the tenant has no override: 30 days on Starter, longer on Business and Enterprise', () => {
    expect(retentionDaysFor({ plan: 'starter' }, SETTINGS)).toBe(30);
    expect(retentionDaysFor({ plan: 'business' }, SETTINGS)).toBe(90);
    expect(retentionDaysFor({ plan: 'enterprise' }, SETTINGS)).toBe(365);
  });

  it("uses the tenant's override within the plan's bounds", () => {
    expect(retentionDaysFor({ plan: 'business', retentionDays: 200 }, SETTINGS)).toBe(200);
    expect(retentionDaysFor({ plan: 'starter', retentionDays: 7 }, SETTINGS)).toBe(7);
  });

  it("clamps an override to the plan's bounds (e.g. after a downgrade)", () => {
    expect(retentionDaysFor({ plan: 'starter', retentionDays: 365 }, SETTINGS)).toBe(30);
    expect(retentionDaysFor({ plan: 'business', retentionDays: 0 }, SETTINGS)).toBe(1);
  });

  it('follows the configured plans, not built-in numbers', () => {
    const settings = { ...SETTINGS, plans: { ...SETTINGS.plans, starter: { ...SETTINGS.plans.starter, retentionDays: 14, minRetentionDays: 7, maxRetentionDays: 21 } } };
    expect(retentionDaysFor({ plan: 'starter' }, settings)).toBe(14);
    expect(retentionDaysFor({ plan: 'starter', retentionDays: 3 }, settings)).toBe(7);
  });
});

describe('R-RET-1: expiresAtEpochSeconds', () => {
  it('is `days` whole days after `from`, in epoch seconds', () => {
    expect(expiresAtEpochSeconds(new Date('2026-01-01T00:00:00.999Z'), 30)).toBe(Date.UTC(2026, 0, 31) / 1000);
  });
});

describe('R-RET-1: validateRetentionOverride', () => {
  it('accepts the bounds themselves', () => {
    expect(() => validateRetentionOverride('business', 1, SETTINGS)).not.toThrow();
    expect(() => validateRetentionOverride('business', 365, SETTINGS)).not.toThrow();
  });

  it.each([
    ['starter', 31],
    ['business', 0],
    ['business', 366],
    ['enterprise', 10.5],
    ['enterprise', Number.NaN],
  ] as const)('refuses %s with %d days, naming the allowed range', (plan, days) => {
    let error: unknown;
    try {
      validateRetentionOverride(plan, days, SETTINGS);
    } catch (caught) {
      error = caught;
    }
    const { minRetentionDays, maxRetentionDays } = SETTINGS.plans[plan];
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
    expect((error as DomainError).message).toContain(`from ${minRetentionDays} to ${maxRetentionDays}`);
  });
});
