/** R-BILL-1: the billing part of the config (lib/config.ts `billing`), validated at synth, handed over as BILLING_SETTINGS. */
import { billingSettings, loadConfig, parseConfig, usageSettings } from '../../lib/config';
import { usageSettingsFrom } from '../../lambdas/adapters/usage-reporting';
import { billingSettingsFrom } from '../../lambdas/billing/composition';

test('defaults: no price mapped, 14 days of grace, the webhooks\' signature tolerance', () => {
  expect(billingSettings(parseConfig({}))).toEqual({ prices: {}, terminationGraceDays: 14, toleranceSeconds: 300 });
});

test('a price mapping and a grace period pass, and the billing function accepts what synth hands it', () => {
  const config = parseConfig({ billing: { prices: { price_1QbZ: 'business', price_2Ent: 'enterprise' }, terminationGraceDays: 30 }, webhookToleranceSeconds: 120 });
  const settings = billingSettings(config);
  expect(settings).toEqual({ prices: { price_1QbZ: 'business', price_2Ent: 'enterprise' }, terminationGraceDays: 30, toleranceSeconds: 120 });
  expect(billingSettingsFrom(JSON.stringify(settings))).toEqual(settings);
});

test.each([
  [{ prices: { prod_1QbZ: 'business' } }, /billing\.prices/],
  [{ prices: { price_1QbZ: 'platinum' } }, /billing\.prices\.price_1QbZ/],
  [{ terminationGraceDays: -1 }, /billing\.terminationGraceDays/],
  [{ unknown: true }, /billing/],
])('a bad billing value fails synth naming the key: %p', (billing, message) => {
  expect(() => parseConfig({ billing })).toThrow(message);
});

test('-c billing.terminationGraceDays=7 is read as a number', () => {
  const config = loadConfig({ tryGetContext: (key: string) => (key === 'billing.terminationGraceDays' ? '7' : undefined) }, '/nonexistent');
  expect(config.billing.terminationGraceDays).toBe(7);
});

describe('R-BILL-2: the usage part (billing.meters, settleAfterDays, usageAlarmAfterDays), handed over as USAGE_SETTINGS', () => {
  test('defaults: no meter billed, settled 2 days after a day ends, the alarm from 30 days', () => {
    expect(usageSettings(parseConfig({}))).toEqual({ meters: {}, settleAfterDays: 2, alarmAfterDays: 30 });
  });

  test('meters pass, and the usage function accepts what synth hands it', () => {
    const meters = { 'events.event': { eventName: 'lumiqo_events', meterId: 'mtr_1Qb' }, ai_tokens: { eventName: 'lumiqo_ai_tokens', meterId: 'mtr_2Ai' } };
    const settings = usageSettings(parseConfig({ billing: { meters, settleAfterDays: 3, usageAlarmAfterDays: 28 } }));
    expect(settings).toEqual({ meters, settleAfterDays: 3, alarmAfterDays: 28 });
    expect(usageSettingsFrom(JSON.stringify(settings))).toEqual(settings);
  });

  test.each([
    [{ meters: { 'events.unknown': { eventName: 'x', meterId: 'mtr_1' } } }, /billing\.meters/],
    [{ meters: { 'events.event': { eventName: 'lumiqo_events', meterId: 'price_1' } } }, /billing\.meters\.events\.event\.meterId|mtr_/],
    [{ usageAlarmAfterDays: 35 }, /billing\.usageAlarmAfterDays/],
    [{ settleAfterDays: 0 }, /billing\.settleAfterDays/],
  ])('a bad usage value fails synth naming the key: %p', (billing, message) => {
    expect(() => parseConfig({ billing })).toThrow(message);
  });

  test('a bad USAGE_SETTINGS stops the cold start naming the key', () => {
    expect(() => usageSettingsFrom(JSON.stringify({ meters: {}, settleAfterDays: 2, alarmAfterDays: 40 }))).toThrow(/USAGE_SETTINGS: alarmAfterDays/);
  });
});
