/** R-BILL-1: the billing part of the config (lib/config.ts `billing`), validated at synth, handed over as BILLING_SETTINGS. */
import { billingSettings, loadConfig, parseConfig } from '../../lib/config';
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
