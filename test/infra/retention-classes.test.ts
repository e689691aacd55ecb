/**
 * Every retention class holds, automatically (issue 11; R-RET-1..6, R-SEC-6, R-DSR-2, R-TERM-4): each data class's
 * period, proven against the synthesized templates (lifecycle rules, TTLs, stream and queue retention, backup plan)
 * or against the code path that enforces it (the item TTLs the adapters write are in test/adapters/retention.test.ts).
 */
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { auditLogOf } from '../../lambdas/adapters/dynamo-audit-log';
import { ADMIN } from '../../lambdas/admin/function';
import { DEAD_LETTER_RETENTION_DAYS, EXPORT_WINDOW_DAYS, STREAM_RETENTION_HOURS } from '../../lambdas/domain/privacy';
import { PAYLOAD_EXPIRY_CLASSES, PAYLOAD_EXPIRY_TAG, payloadExpiryClass } from '../../lambdas/domain/retention';
import { DEFAULT_RUNTIME_SETTINGS } from '../../lambdas/domain/settings';
import { Composition } from '../../lambdas/shared/composition';
import { ENV } from '../../lambdas/shared/settings';
import { TABLES } from '../../lambdas/shared/tables';
import { stackPrefix, type LumiqoConfig } from '../../lib/config';
import type { LumiqoFunctionName } from '../../lib/constructs/lumiqo-function';
import { ServicesStack } from '../../lib/stacks/services-stack';
import { synthDataStack, testApp, testConfig } from './helpers';

const DAY_S = 86_400;

function synth(config: LumiqoConfig) {
  const app = testApp();
  const data = synthDataStack(config, app);
  const services = new ServicesStack(app, `${stackPrefix(config)}-Services`, { config, data, env: { account: '111111111111', region: 'eu-west-1' } });
  return { data, services, dataTemplate: Template.fromStack(data), servicesTemplate: Template.fromStack(services) };
}

const defaults = synth(testConfig());
const custom = synth(testConfig({ auditRetentionDays: 400, backupRetentionDays: 21, stream: { retentionHours: 48 } }));

const logicalId = (stack: cdk.Stack, construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as cdk.CfnElement);
const resourceOf = (t: ReturnType<typeof synth>, which: 'data' | 'services', construct: { node: { defaultChild?: unknown } }) =>
  (which === 'data' ? t.dataTemplate : t.servicesTemplate).toJSON().Resources[logicalId(which === 'data' ? t.data : t.services, construct)];
const variablesOf = (t: ReturnType<typeof synth>, name: LumiqoFunctionName): Record<string, unknown> =>
  resourceOf(t, 'services', t.services.functions[name].function).Properties.Environment.Variables;

describe('R-RET-1, R-RET-6: event data', () => {
  test('events, index entries and rollups: the TenantData table deletes by the expiresAt TTL', () => {
    expect(resourceOf(defaults, 'data', defaults.data.store.tenantDataTable).Properties.TimeToLiveSpecification).toEqual({ AttributeName: TABLES.tenantData.ttlAttribute, Enabled: true });
  });

  test('payloads in S3 expire with their event: one lifecycle rule per expiry class, by tag', () => {
    const rules = resourceOf(defaults, 'data', defaults.data.store.payloadBucket).Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    for (const days of PAYLOAD_EXPIRY_CLASSES) {
      expect(rules).toContainEqual(expect.objectContaining({ Status: 'Enabled', ExpirationInDays: days, TagFilters: [{ Key: PAYLOAD_EXPIRY_TAG, Value: String(days) }] }));
    }
  });

  test.each([
    [30, 30],
    [90, 90],
    [365, 365],
    [45, 60],
    [1, 1],
    [400, 420],
    [731, 750],
    [3650, 3650],
  ])('a %i-day retention tags its payloads with class %i (never shorter than the event, exact for every plan default)', (retention, expected) => {
    expect(payloadExpiryClass(retention)).toBe(expected);
    expect(PAYLOAD_EXPIRY_CLASSES).toContain(expected);
  });

  test('every plan default is a class of its own, so those payloads expire on their event’s day; no payload outlives its event by 30 days', () => {
    for (const plan of Object.values(DEFAULT_RUNTIME_SETTINGS.plans)) expect(payloadExpiryClass(plan.retentionDays)).toBe(plan.retentionDays);
    for (let days = 1; days <= 3650; days += 1) expect(payloadExpiryClass(days) - days).toBeLessThan(30);
  });
});

describe('R-DSR-2, R-TERM-4: copies outside the reach of erasure and shredding', () => {
  test(`the event stream keeps whole events ${STREAM_RETENTION_HOURS} h by default (what processing needs), else as configured`, () => {
    expect(resourceOf(defaults, 'data', defaults.data.eventStream).Properties.RetentionPeriodHours).toBe(STREAM_RETENTION_HOURS);
    expect(resourceOf(custom, 'data', custom.data.eventStream).Properties.RetentionPeriodHours).toBe(48);
  });

  test(`the dead-letter queue keeps its pointers ${DEAD_LETTER_RETENTION_DAYS} days`, () => {
    expect(resourceOf(defaults, 'services', defaults.services.processor.deadLetterQueue).Properties.MessageRetentionPeriod).toBe(DEAD_LETTER_RETENTION_DAYS * DAY_S);
  });

  test('the tasks that sign deletion records and certificates know each retention they name', () => {
    for (const fn of ['privacy-tasks', 'termination-tasks'] as const) {
      expect(JSON.parse(variablesOf(custom, fn)[ENV.backupFacts] as string)).toEqual({
        backupRetentionDays: 21,
        keyDeletionWindowDays: 7,
        pitrWindowDays: 35,
        streamRetentionHours: 48,
        deadLetterRetentionDays: DEAD_LETTER_RETENTION_DAYS,
      });
    }
  });

  test('R-AV-2: daily backups are deleted after backupRetentionDays', () => {
    const plans = Object.values(custom.dataTemplate.findResources('AWS::Backup::BackupPlan'));
    const rules = plans.flatMap((plan) => plan.Properties.BackupPlan.BackupPlanRule as { Lifecycle: { DeleteAfterDays: number } }[]);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.Lifecycle.DeleteAfterDays).toBe(21);
  });
});

describe('R-RET-2: account data', () => {
  test('the Control table (tombstones, termination records) deletes by the expiresAt TTL', () => {
    expect(resourceOf(defaults, 'data', defaults.data.store.controlTable).Properties.TimeToLiveSpecification).toEqual({ AttributeName: TABLES.control.ttlAttribute, Enabled: true });
  });
});

describe('R-TERM-2: exports', () => {
  test('the exports bucket expires every object a few days past the export window', () => {
    const rules = resourceOf(defaults, 'data', defaults.data.documents.exportsBucket).Properties.LifecycleConfiguration.Rules as { ExpirationInDays?: number }[];
    const expiry = rules.find((r) => r.ExpirationInDays !== undefined)!.ExpirationInDays!;
    expect(expiry).toBeGreaterThan(EXPORT_WINDOW_DAYS);
    expect(expiry).toBeLessThanOrEqual(EXPORT_WINDOW_DAYS + 7);
  });
});

describe('R-SEC-6: the audit log honours auditRetentionDays', () => {
  test('the Audit table deletes by TTL, and every function hands the configured retention to its audit log', () => {
    expect(resourceOf(custom, 'data', custom.data.store.auditTable).Properties.TimeToLiveSpecification).toEqual({ AttributeName: TABLES.audit.ttlAttribute, Enabled: true });
    const variables = variablesOf(custom, 'admin');
    expect(JSON.parse(variables[ENV.settings] as string)).toMatchObject({ auditRetentionDays: 400 });
    // The code path: the admin function's audit log, composed from that environment, writes 400-day TTLs.
    const env = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `resolved-${name}`]));
    const log = auditLogOf(new Composition(ADMIN, env));
    expect((log as unknown as { retentionDays: number }).retentionDays).toBe(400);
  });

  test('signed deletion records are kept (object lock and lifecycle) for auditRetentionDays', () => {
    const bucket = resourceOf(custom, 'data', custom.data.documents.recordsBucket).Properties;
    expect(bucket.ObjectLockConfiguration.Rule.DefaultRetention.Days).toBe(400);
    expect(bucket.LifecycleConfiguration.Rules).toContainEqual(expect.objectContaining({ ExpirationInDays: 400 }));
  });
});
