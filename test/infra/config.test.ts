import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig, runtimeSettings, stackPrefix } from '../../lib/config';
import { runtimeSettingsSchema } from '../../lambdas/domain/settings';

/** cdk context as `-c key=value` gives it: every value a string. */
const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumiqo-config-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('parseConfig', () => {
  test('defaults: multi-tenant dev deployment, backups kept 35 days, logs 90 (R-DEP-1, R-AV-2, R-RET-5)', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ stage: 'dev', tenancy: 'multi', backupRetentionDays: 35, logRetentionDays: 90, auditRetentionDays: 365 });
    expect(stackPrefix(config)).toBe('Lumiqo-dev');
  });

  test.each([
    ['tenancy single without a tenant', { tenancy: 'single' }, /tenant: tenancy 'single' needs a tenant id/],
    ['a tenant on a multi-tenant deployment', { tenancy: 'multi', tenant: 'acme' }, /tenant: tenant is only for tenancy 'single'/],
    ['a negative limit', { limits: { maxBodyBytes: -1, maxBatchEvents: 10, inlinePayloadBytes: 4096 } }, /limits\.maxBodyBytes/],
    ['a negative rate limit', { rateLimits: { perIpPer5Min: -5 } }, /rateLimits\.perIpPer5Min/],
    ['an unknown top-level key', { tenantcy: 'single' }, /Unrecognized key.*tenantcy/],
    ['an unknown nested key', { stream: { retentionHour: 48 } }, /stream: Unrecognized key.*retentionHour/],
    ['backups kept longer than 90 days (R-AV-2)', { backupRetentionDays: 120 }, /backupRetentionDays/],
    ['audit kept less than 12 months (R-SEC-6)', { auditRetentionDays: 30 }, /auditRetentionDays/],
    ['a log retention CloudWatch does not offer', { logRetentionDays: 45 }, /logRetentionDays/],
    ['a record age beyond the stream retention', { stream: { retentionHours: 24 }, processor: { maxRecordAgeHours: 48 } }, /processor\.maxRecordAgeHours: must not exceed stream\.retentionHours/],
    ['a bad tenant id', { tenancy: 'single', tenant: 'Acme Corp' }, /tenant:/],
    ['an operator trusted principal that is not an IAM principal ARN (R-SEC-5)', { operator: { trustedPrincipals: ['ops-team'] } }, /operator\.trustedPrincipals\.0: an IAM principal ARN/],
    ['an unknown operator key', { operator: { mfa: false } }, /operator: Unrecognized key.*mfa/],
  ])('rejects %s, naming the key', (_name, raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  test('rejects plans whose retention order is Starter > Business (R-RET-1)', () => {
    const plans = {
      starter: { retentionDays: 120, maxRetentionDays: 365 },
      business: { retentionDays: 90 },
      enterprise: { retentionDays: 365 },
    };
    expect(() => parseConfig({ plans })).toThrow(/plans: Business keeps data at least as long as Starter/);
  });

  test('R-BILL-1: plan limits default per plan, growing with it; a plan that leaves one out gets Starter\'s', () => {
    const { plans } = parseConfig({});
    expect([plans.starter.monthlyEvents, plans.business.monthlyEvents, plans.enterprise.monthlyEvents]).toEqual([1_000_000, 50_000_000, 1_000_000_000]);
    expect([plans.starter.maxApiKeys, plans.business.maxWebhookSources]).toEqual([5, 50]);
    const configured = parseConfig({ plans: { starter: { retentionDays: 30, maxRetentionDays: 30 }, business: { retentionDays: 90, monthlyEvents: 5_000_000 }, enterprise: { retentionDays: 365, monthlyEvents: 9_000_000 } } }).plans;
    expect([configured.starter.monthlyEvents, configured.business.monthlyEvents, configured.enterprise.maxApiKeys]).toEqual([1_000_000, 5_000_000, 5]);
    expect(runtimeSettings(parseConfig({})).plans.business).toMatchObject({ monthlyEvents: 50_000_000, maxWebhookSources: 50, maxApiKeys: 50 });
  });

  test.each([
    ['a larger plan with a smaller quota', { business: { retentionDays: 90, monthlyEvents: 10 } }, /plans\.business\.monthlyEvents: must be at least starter's 1000000/],
    ['Enterprise with fewer API keys than Business', { business: { retentionDays: 90, maxApiKeys: 50 }, enterprise: { retentionDays: 365, maxApiKeys: 10 } }, /plans\.enterprise\.maxApiKeys: must be at least business's 50/],
    ['a quota of 0', { starter: { retentionDays: 30, maxRetentionDays: 30, monthlyEvents: 0 } }, /plans\.starter\.monthlyEvents/],
    ['a fractional number of webhook sources', { starter: { retentionDays: 30, maxRetentionDays: 30, maxWebhookSources: 1.5 } }, /plans\.starter\.maxWebhookSources/],
  ])('R-BILL-1: rejects %s, naming the plan and the limit', (_name, override, message) => {
    const plans = { starter: { retentionDays: 30, maxRetentionDays: 30 }, business: { retentionDays: 90 }, enterprise: { retentionDays: 365 }, ...override };
    expect(() => parseConfig({ plans })).toThrow(ConfigError);
    expect(() => parseConfig({ plans })).toThrow(message);
  });

  test('rejects a plan retention outside its own bounds, naming the plan', () => {
    const plans = {
      starter: { retentionDays: 30, maxRetentionDays: 10 },
      business: { retentionDays: 90 },
      enterprise: { retentionDays: 365 },
    };
    expect(() => parseConfig({ plans })).toThrow(/plans\.starter\.retentionDays: must lie within/);
  });

  test('a tenant alone implies a single-tenant deployment with its own stack names (R-DEP-2)', () => {
    const config = parseConfig({ tenant: 'acme' });
    expect(config.tenancy).toBe('single');
    expect(stackPrefix(config)).toBe('Lumiqo-dev-acme');
  });

  test('R-SEC-5 defaults: the operator role needs MFA, the account root decides who assumes it, tagged principals are not admitted', () => {
    expect(parseConfig({}).operator).toEqual({ requireMfa: true, trustedPrincipals: [], admitTaggedPrincipals: false });
    const chosen = { requireMfa: false, trustedPrincipals: ['arn:aws:iam::111111111111:role/ops/oncall', 'arn:aws:iam::222222222222:root'], admitTaggedPrincipals: true };
    expect(parseConfig({ operator: chosen }).operator).toEqual(chosen);
  });

  test('runtimeSettings hands the functions a value their own schema accepts', () => {
    const settings = runtimeSettings(parseConfig({ tenancy: 'single', tenant: 'acme', stage: 'prod' }));
    expect(runtimeSettingsSchema.parse(settings)).toEqual(settings);
    expect(settings.tenancy).toEqual({ mode: 'single', tenantId: 'acme' });
  });
});

describe('loadConfig', () => {
  test('context strings are coerced to numbers', () => {
    const config = loadConfig(
      context({ 'rateLimits.perIpPer5Min': '5000', webhookToleranceSeconds: '600', backupRetentionDays: '14', 'stream.retentionHours': '72' }),
      dir,
    );
    expect(config.rateLimits.perIpPer5Min).toBe(5000);
    expect(config.rateLimits.perTenantPer5Min).toBe(30000);
    expect(config.webhookToleranceSeconds).toBe(600);
    expect(config.backupRetentionDays).toBe(14);
    expect(config.stream.retentionHours).toBe(72);
  });

  test.each(['many', ''])('a context value %p that is not a number fails, naming the key', (value) => {
    expect(() => loadConfig(context({ 'rateLimits.stageBurst': value }), dir)).toThrow(/rateLimits\.stageBurst: expected a number/);
  });

  test('R-SEC-5: -c operator.requireMfa=false and operator.admitTaggedPrincipals=true are read as booleans; other words fail, naming the key', () => {
    expect(loadConfig(context({ 'operator.requireMfa': 'false', 'operator.admitTaggedPrincipals': 'true' }), dir).operator)
      .toMatchObject({ requireMfa: false, admitTaggedPrincipals: true });
    expect(() => loadConfig(context({ 'operator.requireMfa': 'no' }), dir)).toThrow(/operator\.requireMfa: expected true or false/);
  });

  test('-c tenant=acme alone gives the single-tenant deployment (DESIGN.md)', () => {
    expect(stackPrefix(loadConfig(context({ tenant: 'acme' }), dir))).toBe('Lumiqo-dev-acme');
  });

  test('reads lumiqo.config.json from the working directory when present', () => {
    fs.writeFileSync(path.join(dir, 'lumiqo.config.json'), JSON.stringify({ stage: 'prod', backupRetentionDays: 7 }));
    expect(loadConfig(context({}), dir)).toMatchObject({ stage: 'prod', backupRetentionDays: 7 });
  });

  test('reads the file named by -c config, and context wins over the file', () => {
    fs.writeFileSync(path.join(dir, 'acme.json'), JSON.stringify({ tenancy: 'single', tenant: 'acme', stage: 'prod' }));
    const config = loadConfig(context({ config: 'acme.json', stage: 'staging' }), dir);
    expect(config).toMatchObject({ tenancy: 'single', tenant: 'acme', stage: 'staging' });
  });

  test('a missing named file fails with its path', () => {
    expect(() => loadConfig(context({ config: 'nope.json' }), dir)).toThrow(/Lumiqo config file not found: .*nope\.json/);
  });

  test('a file that is not JSON fails with its path', () => {
    fs.writeFileSync(path.join(dir, 'lumiqo.config.json'), '{ stage: prod');
    expect(() => loadConfig(context({}), dir)).toThrow(/Invalid Lumiqo config file .*lumiqo\.config\.json/);
  });

  test('a bad value in the file fails naming the key', () => {
    fs.writeFileSync(path.join(dir, 'lumiqo.config.json'), JSON.stringify({ processor: { batchSize: 0 } }));
    expect(() => loadConfig(context({}), dir)).toThrow(/processor\.batchSize/);
  });
});
