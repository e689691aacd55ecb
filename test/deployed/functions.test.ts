/**
 * Deployed-shape tier (issue 9): every function built through its Lambda entry from its synthesized environment
 * (world.ts), its main path run against the emulators and the AWS fakes, and every AWS call it made evaluated by the
 * IAM policy simulator against that function's synthesized role (R-SEC-5: the "can" half of least privilege). A
 * control case drops the statement that allows a recorded call and sees it denied, so the tier can fail.
 */
import { createHmac } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createAwsClients, createKinesisClient } from '../../lambdas/adapters/clients';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../../lambdas/domain/keys';
import type { TerminationRecord } from '../../lambdas/domain/privacy';
import type { SweepOutcome } from '../../lambdas/domain/termination';
import { TAG_CHANGE_ACTIONS, tenantKeyPolicy, tenantKeyPolicyPrincipals } from '../../lambdas/adapters/tenant-key-policy';
import { ENV } from '../../lambdas/shared/settings';
import type { LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { declaredVariables } from '../../lambdas/shared/declarations';
import { FUNCTION_DECLARATIONS, FUNCTION_NAMES } from '../../lambdas/shared/functions';
import { apiRequest, bearer, bodyOf } from '../handler/fixtures';
import { eventually } from '../integration/http';
import { deniedRequests, describeRequest, evaluatedCalls } from './allowed-calls';
import { decide, iamRequestsOf, principalOf, type Principal } from './iam';
import { recordedCalls, type RecordedCall } from './recorder';
import { checkoutCompleted, signedWebhook, subscriptionEvent } from '../support/stripe-events';
import { DEPLOYED_AI_API_KEY, DEPLOYED_STRIPE_SECRET, startDeployedWorld, type DeployedWorld } from './world';

/** See test/isolation/tenant-read-role.test.ts: runUnsafeSimulation (0.1.173) reads the name of an unnamed resource policy. */
/** runUnsafeSimulation needs its resource policies named (iam-policy-mock.ts). */
jest.mock('@cloud-copilot/iam-policy', () => jest.requireActual('../isolation/iam-policy-mock').namedResourcePolicies());

let world: DeployedWorld;
beforeAll(async () => {
  world = await startDeployedWorld();
}, 120_000);
afterAll(() => world?.close());

const ok = (status: number) => (answer: { statusCode: number; body: string }) => {
  if (answer.statusCode !== status) throw new Error(`expected ${status}, got ${answer.statusCode}: ${answer.body}`);
  return bodyOf(answer);
};

/** Everything on the tenant's stream so far, as the event source mapping would hand it to the processor. */
async function streamBatch(): Promise<KinesisStreamEvent> {
  const kinesis = createKinesisClient(world.emulators.clients);
  const StreamName = world.deployment.names.eventStream;
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName }));
  const records: KinesisStreamEvent['Records'] = [];
  for (const shard of Shards) {
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    for (const r of Records) {
      records.push({
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shard.ShardId}:${r.SequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/processor',
        awsRegion: 'us-east-1',
        eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${StreamName}`,
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          data: Buffer.from(r.Data!).toString('base64'),
          approximateArrivalTimestamp: r.ApproximateArrivalTimestamp!.getTime() / 1000,
        },
      });
    }
  }
  kinesis.destroy();
  return { Records: records };
}

/**
 * A termination's status once it has left `running`. Meanwhile the processor gets the stream, as the event source
 * mapping would hand it over: the drain marker among it (R-TERM-1).
 */
async function terminationSettled(tenantId: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    await deliverNewRecords();
    const view = ok(200)(await world.http('privacy', apiRequest('GET', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId } })));
    return view.status === 'completed' || view.status === 'failed' ? view : undefined;
  }, `${tenantId} termination settled`, 30_000);
}

/** Stream records not handed to the processor yet by deliverNewRecords, from the first termination on. */
const delivered = new Set<string>();
let deliverFrom: number | undefined;
/** What the event source mapping does while a termination runs: each new record, once (R-TERM-1's drain marker). */
async function deliverNewRecords(): Promise<void> {
  if (deliverFrom === undefined) throw new Error('deliverFrom is not set: set it before the termination starts');
  const fresh = (await streamBatch()).Records.filter((r) => r.kinesis.approximateArrivalTimestamp >= deliverFrom! && !delivered.has(r.eventID));
  if (fresh.length === 0) return;
  for (const r of fresh) delivered.add(r.eventID);
  await world.processor({ Records: fresh });
}

/** The termination record, read raw from the control table (as the sweeper reads it). */
async function terminationRecord(tenantId: string): Promise<TerminationRecord | undefined> {
  const dynamo = createAwsClients(world.emulators.clients).dynamo;
  const { Item } = await dynamo.send(new GetCommand({ TableName: world.deployment.names.controlTable, Key: controlKeys.termination(tenantId), ConsistentRead: true }));
  return Item as TerminationRecord | undefined;
}

const SHOPIFY_SECRET = 'shpss_deployed_shape_0123456789abcdef';
let acmeKey = '';

describe('each function, through its Lambda entry and synthesized environment', () => {
  test('admin: creates tenants with their KMS keys (explicit key policy, R-SEC-5), issues API keys and webhook sources (defect 1)', async () => {
    for (const tenantId of ['acme', 'globex']) {
      ok(201)(await world.http('admin', apiRequest('POST', '/v1/admin/tenants', { body: { tenantId, name: tenantId, plan: 'business' } })));
    }
    acmeKey = String(ok(201)(await world.http('admin', apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId: 'acme' }, body: { scopes: ['ingest', 'read', 'privacy'] } }))).apiKey);
    ok(201)(
      await world.http(
        'admin',
        apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources', {
          pathParameters: { tenantId: 'acme' },
          body: { sourceId: 'shop', scheme: 'shopify', secret: SHOPIFY_SECRET },
        }),
      ),
    );
    // R-SEC-2: each tenant's key exists in KMS, tagged for this deployment, rotating, behind its alias.
    const key = world.aws.kms.key(`${world.environment('admin').TENANT_KEY_ALIAS_PREFIX}acme`);
    expect(key).toMatchObject({ keyState: 'Enabled', rotationEnabled: true, tags: { 'lumiqo:tenant': 'acme' } });
    // R-SEC-5: with the explicit key policy (the account decides through IAM; tags change only by the account root
    // user and the admin role), built from the admin function's synthesized environment, not KMS's default.
    const policy = JSON.parse(key!.policy);
    expect(policy).toEqual(tenantKeyPolicy(tenantKeyPolicyPrincipals(JSON.parse(world.environment('admin')[ENV.tenantKeyPolicy]))));
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: TAG_CHANGE_ACTIONS, Condition: { ArnNotEquals: { 'aws:PrincipalArn': [expect.stringMatching(/:root$/), world.policies.roleArn(world.policies.functionRole('admin'))] } } }),
    );
  });

  test('billing: a verified Stripe checkout and subscription link acme to its customer; a replay has no second effect (R-BILL-1, R-BILL-3)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const checkout = ok(200)(await world.http('billing', signedWebhook(checkoutCompleted('acme', 'cus_Deployed1', now), DEPLOYED_STRIPE_SECRET)));
    expect(checkout).toMatchObject({ outcome: 'applied', tenantId: 'acme' });
    const created = subscriptionEvent('created', { customer: 'cus_Deployed1', price: 'price_NotMapped', created: now + 1 });
    ok(200)(await world.http('billing', signedWebhook(created, DEPLOYED_STRIPE_SECRET)));
    expect(ok(200)(await world.http('billing', signedWebhook(created, DEPLOYED_STRIPE_SECRET)))).toMatchObject({ outcome: 'duplicate' });
    const refused = await world.http('billing', signedWebhook(created, 'whsec_not_the_deployed_one'));
    expect(refused.statusCode).toBe(401);
    // The signing secret came from the stack's secret, read once for the container (its grant is checked below).
    expect(recordedCalls().filter((c) => c.fn === 'billing' && c.call.operation === 'GetSecretValue')).toHaveLength(1);
  });

  test('ingest: accepts events onto the stream', async () => {
    const answer = ok(202)(
      await world.http(
        'ingest',
        apiRequest('POST', '/v1/events', {
          headers: bearer(acmeKey),
          body: { events: [{ type: 'event', name: 'signup', properties: { email: 'ann@example.com' } }, { type: 'metric', name: 'queue.depth', value: 3 }] },
        }),
      ),
    );
    expect(answer.accepted).toBe(2);
  });

  test('processor: stores the stream batch under the tenant key; a poison record goes to the dead-letter queue', async () => {
    const batch = await streamBatch();
    const poison = { ...batch.Records[0], kinesis: { ...batch.Records[0].kinesis, sequenceNumber: '9'.repeat(30), data: Buffer.from('not json').toString('base64') } };

    const outcome = await world.processor({ Records: [...batch.Records, poison] });

    expect(outcome.batchItemFailures).toEqual([]);
    const queue = world.environment('processor').DEAD_LETTER_QUEUE_URL;
    expect(world.aws.sqs.messages(queue)).toHaveLength(1);
  });

  test('query: reads the tenant\'s events through the tenant-scoped role (R-SEC-4)', async () => {
    const page = ok(200)(await world.http('query', apiRequest('GET', '/v1/events', { headers: bearer(acmeKey), query: { kind: 'event' } })));
    expect((page.items as unknown[]).length).toBe(1);
    expect(world.aws.sts.sessions.map((s) => s.tags)).toContainEqual({ tenantId: 'acme' });
  });

  test('ai: a question runs its tools through the tenant-scoped role, is sealed under the tenant key, and the insight job runs (R-AI-1, R-AI-2, R-AI-5, R-AI-6)', async () => {
    const aiKey = String(ok(201)(await world.http('admin', apiRequest('POST', '/v1/admin/tenants/{tenantId}/api-keys', { pathParameters: { tenantId: 'acme' }, body: { scopes: ['ai'] } }))).apiKey);
    const start = world.openai.requests.length;
    world.openai.script((_body, i) =>
      i === start
        ? { toolCalls: [{ name: 'count_events', arguments: { kind: 'event', name: 'signup', status_class: null, from: null, to: null } }] }
        : i === start + 1
          ? { toolCalls: [{ name: 'sample_events', arguments: { kind: 'event', name: 'signup', status_class: null, from: null, to: null, limit: 1 } }] }
          : { content: 'One signup.' },
    );
    const answer = ok(201)(await world.http('ai', apiRequest('POST', '/v1/ai/conversations', { headers: bearer(aiKey), body: { question: 'How many signups?' } })));
    expect(answer.message).toMatchObject({ answer: 'One signup.', toolCalls: [{ name: 'count_events', ok: true }, { name: 'sample_events', ok: true }] });
    const sent = world.openai.requests.slice(start);
    expect(sent.map((r) => r.body.store)).toEqual([false, false, false]);
    expect(sent[0].headers.authorization).toBe(`Bearer ${DEPLOYED_AI_API_KEY}`);
    // The signup's e-mail was in the sampled event: redacted before it left.
    expect(sent.map((r) => r.raw).join('\n')).not.toContain('ann@example.com');
    expect(JSON.parse(sent[1].body.messages.at(-1)!.content!)).toMatchObject({ count: 1 });
    const assumed = recordedCalls().filter((c) => c.fn === 'ai' && c.call.operation === 'AssumeRole');
    expect(assumed).toHaveLength(1);
    expect(world.aws.sts.sessionOf(String(recordedCalls().find((c) => c.fn === 'ai' && c.sessionToken)?.sessionToken))?.tags).toEqual({ tenantId: 'acme' });
    expect(recordedCalls().filter((c) => c.fn === 'ai' && c.call.operation === 'GetSecretValue')).toHaveLength(1);
    // R-BILL-2: one ai_tokens mark per provider call, in the ledger's MARK partitions (the role check covers the call).
    const marks = recordedCalls().filter((c) => c.fn === 'ai' && c.call.operation === 'BatchWriteItem' && JSON.stringify(c.call.input).includes('MARK#acme#'));
    expect(marks).toHaveLength(3);
    expect(JSON.stringify(marks.map((c) => c.call.input))).toContain('ai_tokens');

    const run = await world.invoke<{ tenants: number; failed: string[] }>('ai', { task: 'detect-insights' });
    expect(run).toMatchObject({ tenants: 1, failed: [] });
  });

  test('processor and usage: the stored events are marked in the usage ledger; the flush sends acme\'s open day to Stripe, report and reconciliation run (R-BILL-2, R-TERM-1)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const flushed = await world.invoke<{ tenantId: string }>('usage', { task: 'report-tenant-usage', state: { tenantId: 'acme', terminationId: 'not-a-termination' } });
    expect(flushed).toMatchObject({ tenantId: 'acme' });
    // One `event` and one `metric` were stored for acme; only the events meter is configured.
    expect(world.stripe.dayValue('lumiqo_events', 'cus_Deployed1', today)).toBe(1);
    expect(world.stripe.accepted).toHaveLength(1);
    // Today is open: the daily report sends nothing more for it, and the reconciliation (closed days only) finds nothing to differ.
    expect(await world.invoke('usage', { task: 'report-usage' })).toMatchObject({ sent: 0, nearLimit: [] });
    expect(await world.invoke('usage', { task: 'reconcile-usage' })).toMatchObject({ mismatches: [] });
    expect(world.stripe.accepted).toHaveLength(1);
    expect(recordedCalls().filter((c) => c.fn === 'usage' && c.call.operation === 'GetSecretValue')).toHaveLength(1);
    expect(recordedCalls().some((c) => c.fn === 'processor' && c.call.operation === 'BatchWriteItem' && JSON.stringify(c.call.input).includes('MARK#acme#'))).toBe(true);
  });

  test('privacy and privacy-tasks: an access request runs its state machine to a completed export (R-DSR-1)', async () => {
    const opened = ok(202)(
      await world.http('privacy', apiRequest('POST', '/v1/privacy/requests', { headers: bearer(acmeKey), body: { type: 'access', subject: { kind: 'email', value: 'ann@example.com' } } })),
    );
    const status = await eventually(async () => {
      const view = ok(200)(await world.http('privacy', apiRequest('GET', '/v1/privacy/requests/{requestId}', { headers: bearer(acmeKey), pathParameters: { requestId: String(opened.requestId) } })));
      return view.status === 'completed' ? view : undefined;
    }, 'access request completed');
    expect(status.results).toMatchObject({ counts: { events: 1 } });
  });

  test('ingest: a Shopify customers/redact opens an erasure through the Lambda entry, which runs to a signed deletion record (defect 2, R-DSR-6)', async () => {
    const body = JSON.stringify({ shop_id: 1, shop_domain: 'acme.myshopify.com', customer: { id: 7, email: 'ann@example.com' }, orders_to_redact: [] });
    const answer = ok(200)(
      await world.http(
        'ingest',
        apiRequest('POST', '/v1/hooks/{tenantId}/{sourceId}', {
          pathParameters: { tenantId: 'acme', sourceId: 'shop' },
          body,
          headers: {
            'X-Shopify-Hmac-Sha256': createHmac('sha256', SHOPIFY_SECRET).update(body, 'utf8').digest('base64'),
            'X-Shopify-Webhook-Id': 'redact-deployed-1',
            'X-Shopify-Topic': 'customers/redact',
            'X-Shopify-Shop-Domain': 'acme.myshopify.com',
            'X-Shopify-Triggered-At': new Date().toISOString(),
          },
        }),
      ),
    );
    const requestId = String(answer.privacyRequestId);
    expect(world.aws.sfn.executions.map((e) => e.name)).toContain(requestId);
    const done = await eventually(async () => {
      const view = ok(200)(await world.http('privacy', apiRequest('GET', '/v1/admin/tenants/{tenantId}/privacy/requests/{requestId}', { pathParameters: { tenantId: 'acme', requestId } })));
      return view.status === 'completed' || view.status === 'failed' ? view : undefined;
    }, 'erasure settled');
    expect(done.status).toBe('completed');
  });

  test('termination-tasks: an immediate termination runs to a signed certificate and shreds the tenant key (R-TERM-1..5)', async () => {
    deliverFrom ??= Date.now() / 1000 - 1;
    ok(202)(await world.http('privacy', apiRequest('POST', '/v1/admin/tenants/{tenantId}/termination', { pathParameters: { tenantId: 'globex' }, body: { election: 'immediate' } })));
    const done = await terminationSettled('globex');
    expect(done.status).toBe('completed');
    // R-TERM-1: the drain marker went into the stream from termination-tasks (Kinesis PutRecords, allowed below).
    expect(recordedCalls().some((c) => c.fn === 'termination-tasks' && c.call.operation === 'PutRecords')).toBe(true);
    const keys = [...new Set(recordedCalls().filter((c) => c.call.operation === 'ScheduleKeyDeletion').map((c) => String(c.call.input.KeyId)))];
    expect(keys.map((k) => world.aws.kms.key(k)?.keyState)).toEqual(['PendingDeletion']);
  });

  test('billing: a subscription deleted more than the grace period ago starts the termination on the hourly check (R-TERM-1)', async () => {
    ok(201)(await world.http('admin', apiRequest('POST', '/v1/admin/tenants', { body: { tenantId: 'initech', name: 'initech', plan: 'business' } })));
    const now = Math.floor(Date.now() / 1000);
    const ended = now - 15 * 86_400; // the synthesized grace period is 14 days
    ok(200)(await world.http('billing', signedWebhook(checkoutCompleted('initech', 'cus_Deployed2', ended - 100, 'sub_D2'), DEPLOYED_STRIPE_SECRET)));
    const deleted = subscriptionEvent('deleted', { customer: 'cus_Deployed2', subscription: 'sub_D2', price: 'price_NotMapped', created: ended, endedAt: ended });
    ok(200)(await world.http('billing', signedWebhook(deleted, DEPLOYED_STRIPE_SECRET)));

    deliverFrom ??= Date.now() / 1000 - 1;
    const check = await world.invoke<{ started: { tenantId: string }[] }>('billing', { task: 'start-due-terminations' });

    expect(check.started.map((s) => s.tenantId)).toEqual(['initech']);
    // R-TERM-2: the export is offered and no execution waits for the window; the sweep leaves it armed.
    await eventually(async () => {
      await deliverNewRecords();
      return (await terminationRecord('initech'))?.checkpoint?.stage === 'await-window' ? true : undefined;
    }, 'initech export offered', 30_000);
    await eventually(async () => (world.aws.sfn.executions.every((e) => e.status !== 'RUNNING') ? true : undefined), 'executions ended');
    const armed = await world.invoke<SweepOutcome>('privacy', { task: 'sweep-terminations' });
    expect(armed).toMatchObject({ purgeStarted: [], resumed: [], errors: [] });
    // 30 days on (the record's date moved back instead of the clock forward), the hourly sweep starts the purge.
    const dynamo = createAwsClients(world.emulators.clients).dynamo;
    await dynamo.send(new UpdateCommand({
      TableName: world.deployment.names.controlTable,
      Key: controlKeys.termination('initech'),
      UpdateExpression: 'SET purgeAfter = :past',
      ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
    }));
    const sweep = await world.invoke<SweepOutcome>('privacy', { task: 'sweep-terminations' });
    expect(sweep.purgeStarted).toEqual(['initech']);
    // The sweeper asked Step Functions whether the recorded execution still runs (DescribeExecution, allowed below).
    expect(recordedCalls().some((c) => c.fn === 'privacy' && c.call.operation === 'DescribeExecution')).toBe(true);
    const done = await terminationSettled('initech');
    expect(done).toMatchObject({ status: 'completed', requestedBy: 'system:billing', election: 'export-then-delete' });
  });
});

describe('R-SEC-5: every AWS call each function made is allowed by its synthesized role', () => {
  const principalFor = (c: RecordedCall): Principal => principalOf(c, world.policies, (token) => world.aws.sts.sessionOf(token));
  const evaluated = () => evaluatedCalls(recordedCalls());

  test('the main paths above reached every function', () => {
    expect([...new Set(recordedCalls().map((c) => c.fn))].sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  test.each(FUNCTION_NAMES)('%s: every recorded call is Allowed', (fn: LumiqoFunctionName) => {
    const calls = evaluated().filter((c) => c.fn === fn);
    expect(calls.length).toBeGreaterThan(0);
    expect(deniedRequests(calls, world.policies, world.keyFacts, principalFor)).toEqual([]);
  });

  test('the tenant read role is assumed only by the query and AI functions, with the trust policy allowing it', () => {
    const assumes = recordedCalls().filter((c) => c.call.operation === 'AssumeRole');
    expect(assumes.map((c) => c.fn)).toEqual(expect.arrayContaining(['query', 'ai']));
    expect(new Set(assumes.map((c) => c.fn))).toEqual(new Set(['query', 'ai']));
  });

  test('control: without the statement that allows it, each function\'s first call of each action is denied', () => {
    const checked: string[] = [];
    for (const fn of FUNCTION_NAMES) {
      const seen = new Set<string>();
      for (const c of evaluated().filter((x) => x.fn === fn)) {
        const principal = principalFor(c);
        for (const request of iamRequestsOf(c.call, world.policies, world.keyFacts)) {
          if (seen.has(request.action)) continue;
          seen.add(request.action);
          // Drop every statement that names this action (or a wildcard of it): the call must then be refused.
          const names = (statement: unknown) => {
            const actions = ([] as string[]).concat((statement as { Action?: string | string[] }).Action ?? []);
            return actions.some((a) => new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(request.action));
          };
          const verdict = decide(world.policies, principal, request, names);
          // A KMS key policy may grant the action itself (the signing key's does not, tenant keys' default does not).
          if (verdict === 'Allowed') checked.push(`STILL ALLOWED ${describeRequest(c, request, verdict)}`);
          else checked.push(request.action);
        }
      }
    }
    expect(checked.filter((line) => line.startsWith('STILL ALLOWED'))).toEqual([]);
    expect(checked.length).toBeGreaterThan(20);
  });
});

describe('a wiring difference fails at cold start', () => {
  const COMPOSE: Readonly<Record<LumiqoFunctionName, (env: NodeJS.ProcessEnv) => unknown>> = {
    ingest: (env) => require('../../lambdas/ingest/composition').composeIngest(env),
    processor: (env) => require('../../lambdas/processor/composition').composeProcessor(env),
    query: (env) => require('../../lambdas/query/composition').composeQuery(env),
    admin: (env) => require('../../lambdas/admin/composition').composeAdmin(env),
    privacy: (env) => require('../../lambdas/privacy/composition').composePrivacy(env),
    billing: (env) => require('../../lambdas/billing/composition').composeBilling(env),
    usage: (env) => require('../../lambdas/usage/composition').composeUsage(env),
    'privacy-tasks': (env) => require('../../lambdas/privacy-tasks/composition').composePrivacyTasks(env),
    'termination-tasks': (env) => require('../../lambdas/termination-tasks/composition').composeTerminationTasks(env),
    ai: (env) => require('../../lambdas/ai/composition').composeAi(env),
  };

  test.each(FUNCTION_NAMES)('%s: composes from its synthesized environment, and names any declared variable it lacks', (fn) => {
    const environment = world.environment(fn);
    expect(() => COMPOSE[fn](environment)).not.toThrow();
    for (const variable of declaredVariables(FUNCTION_DECLARATIONS[fn])) {
      const { [variable]: _missing, ...without } = environment;
      expect(() => COMPOSE[fn](without)).toThrow(variable);
    }
  });
});
