/**
 * Composition root: builds the adapters behind the domain's ports, once per container. In Lambda everything
 * comes from the environment the CDK constructs set (`platformOptionsFromEnv`); the local runtime passes
 * emulator endpoints and a local key directory instead. Same handlers, same adapters, any AWS-compatible endpoint.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createAwsClients, type AwsClientsConfig } from '../adapters/clients';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log';
import { DynamoEventStore } from '../adapters/dynamo-event-store';
import { DynamoTenantDirectory } from '../adapters/dynamo-tenant-directory';
import {
  EnvelopeTenantCrypto,
  KmsKeyringProvider,
  KmsTenantKeyManager,
  LocalKeyringProvider,
  LocalTenantKeyManager,
} from '../adapters/envelope-crypto';
import { KinesisEventPublisher } from '../adapters/kinesis-event-publisher';
import { S3PayloadStore } from '../adapters/s3-payload-store';
import { SqsDeadLetterSink } from '../adapters/sqs-dead-letters';
import type { TenantReadDeps } from '../domain/queries';
import {
  SYSTEM_CLOCK,
  type AuditLog,
  type Clock,
  type DeadLetterSink,
  type EventPublisher,
  type EventStore,
  type PayloadStore,
  type TenantDirectory,
  type TenantKeyManager,
  type PrivacyRequestStore,
  type DocumentStore,
  type BillingLedger,
  type DocumentSigner,
  type WorkflowStarter,
} from '../domain/ports';
import { DEFAULT_BACKUP_FACTS, type BackupFacts } from '../domain/deletion-records';
import type { WorkflowName } from '../domain/privacy';
import { DynamoBillingLedger } from '../adapters/dynamo-billing-ledger';
import { DynamoPrivacyRequestStore } from '../adapters/dynamo-privacy-requests';
import { KmsDocumentSigner, LocalDocumentSigner } from '../adapters/document-signers';
import { S3DocumentStore } from '../adapters/s3-document-store';

import type { Tenant } from '../domain/model';
import { ENV, settingsFromEnv, type RuntimeSettings } from './settings';

export interface PlatformOptions {
  readonly clients: AwsClientsConfig;
  readonly names: {
    readonly controlTable: string;
    readonly dataTable: string;
    readonly auditTable: string;
    readonly payloadBucket: string;
    readonly eventStream: string;
    readonly exportsBucket: string;
    readonly recordsBucket: string;
    readonly ledgerTable: string;
  };
  /** Signs deletion records: a KMS asymmetric key in AWS, a PEM file (created on first use) locally. */
  readonly signing: { readonly mode: 'kms'; readonly keyId: string } | { readonly mode: 'local'; readonly file: string };
  /** State machine ARNs by workflow (AWS); the local runtime passes its own starter instead. */
  readonly stateMachineArns?: Readonly<Partial<Record<WorkflowName, string>>>;
  readonly workflows?: WorkflowStarter;
  /** @default DEFAULT_BACKUP_FACTS */
  readonly backupFacts?: BackupFacts;
  /** `kms`: one KMS key per tenant (AWS). `local`: raw AES key files in `dir` (local mode). */
  readonly keyring: { readonly mode: 'kms'; readonly aliasPrefix: string; readonly deployment: string } | { readonly mode: 'local'; readonly dir: string };
  readonly settings: RuntimeSettings;
  /**
   * R-SEC-4: read routes assume this role with a `tenantId` session tag. Absent in local mode, where no STS
   * exists: reads then use the platform's own credentials (the README lists this difference).
   */
  readonly tenantReadRoleArn?: string;
  /** The processor's dead-letter queue; the local runtime passes its own sink instead. */
  readonly deadLetterQueueUrl?: string;
  readonly deadLetters?: DeadLetterSink;
  readonly clock?: Clock;
}

export interface Platform {
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  readonly directory: TenantDirectory;
  readonly publisher: EventPublisher;
  readonly store: EventStore;
  readonly payloads: PayloadStore;
  readonly audit: AuditLog;
  readonly crypto: EnvelopeTenantCrypto;
  readonly keys: TenantKeyManager;
  readonly deadLetters: DeadLetterSink;
  /** Data-subject requests, restrictions, terminations (control table). */
  readonly requests: PrivacyRequestStore;
  /** Exports bucket: subject and termination exports, work lists. */
  readonly exports: DocumentStore;
  /** Records bucket: signed deletion records and certificates. */
  readonly records: DocumentStore;
  /** R-TERM-6: billing ledger table. */
  readonly ledger: BillingLedger;
  readonly signer: DocumentSigner;
  readonly workflows: WorkflowStarter;
  /** Retention facts a deletion certificate computes its dates from. */
  readonly backupFacts: BackupFacts;
  /** Adapters whose credentials reach only this tenant's data. */
  tenantScoped(tenant: Pick<Tenant, 'tenantId'>): Promise<TenantReadDeps>;
}

/** Tenant sessions are renewed this long before they expire. */
const SESSION_RENEW_MS = 5 * 60_000;

export function buildPlatform(options: PlatformOptions): Platform {
  const aws = createAwsClients(options.clients);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const { names, keyring } = options;
  const crypto = new EnvelopeTenantCrypto(keyring.mode === 'kms' ? new KmsKeyringProvider(aws.kms) : new LocalKeyringProvider(keyring.dir));
  const keys: TenantKeyManager =
    keyring.mode === 'kms'
      ? new KmsTenantKeyManager(aws.kms, { aliasPrefix: keyring.aliasPrefix, deployment: keyring.deployment })
      : new LocalTenantKeyManager(keyring.dir, () => clock.now());
  const store = new DynamoEventStore(aws.dynamo, names.dataTable);
  const payloads = new S3PayloadStore(aws.s3, names.payloadBucket);

  const sessions = new Map<string, { deps: TenantReadDeps; renewAt: number }>();
  const sts = options.tenantReadRoleArn ? new STSClient(options.clients.region ? { region: options.clients.region } : {}) : undefined;

  async function tenantScoped(tenant: Pick<Tenant, 'tenantId'>): Promise<TenantReadDeps> {
    if (!sts || !options.tenantReadRoleArn) return { store, payloads, crypto };
    const cached = sessions.get(tenant.tenantId);
    if (cached && cached.renewAt > Date.now()) return cached.deps;
    const session = await sts.send(
      new AssumeRoleCommand({
        RoleArn: options.tenantReadRoleArn,
        RoleSessionName: `tenant-${tenant.tenantId}`.slice(0, 64),
        DurationSeconds: 3600,
        // R-SEC-4: the tag every condition of the role's policies compares against.
        Tags: [{ Key: 'tenantId', Value: tenant.tenantId }],
      }),
    );
    const c = session.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.Expiration) throw new Error('AssumeRole returned no credentials');
    const scoped = createAwsClients({
      ...options.clients,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken },
    });
    const deps: TenantReadDeps = {
      store: new DynamoEventStore(scoped.dynamo, names.dataTable),
      payloads: new S3PayloadStore(scoped.s3, names.payloadBucket),
      crypto: new EnvelopeTenantCrypto(new KmsKeyringProvider(scoped.kms)),
    };
    sessions.set(tenant.tenantId, { deps, renewAt: c.Expiration.getTime() - SESSION_RENEW_MS });
    return deps;
  }

  const deadLetters =
    options.deadLetters ??
    (options.deadLetterQueueUrl
      ? new SqsDeadLetterSink(new SQSClient(options.clients.region ? { region: options.clients.region } : {}), options.deadLetterQueueUrl)
      : { send: async () => { throw new Error('No dead-letter queue configured'); } });

  let sfnStarter: WorkflowStarter | undefined;
  const workflows: WorkflowStarter = options.workflows ?? {
    start: (workflow, executionName, input) => {
      sfnStarter ??= createSfnStarter(options);
      return sfnStarter.start(workflow, executionName, input);
    },
  };

  return {
    settings: options.settings,
    clock,
    requests: new DynamoPrivacyRequestStore(aws.dynamo, names.controlTable),
    exports: new S3DocumentStore(aws.s3, names.exportsBucket),
    records: new S3DocumentStore(aws.s3, names.recordsBucket),
    ledger: new DynamoBillingLedger(aws.dynamo, names.ledgerTable),
    signer: options.signing.mode === 'kms' ? new KmsDocumentSigner(aws.kms, options.signing.keyId) : new LocalDocumentSigner(options.signing.file),
    workflows,
    backupFacts: options.backupFacts ?? DEFAULT_BACKUP_FACTS,
    directory: new DynamoTenantDirectory(aws.dynamo, names.controlTable, clock),
    publisher: new KinesisEventPublisher(aws.kinesis, names.eventStream),
    store,
    payloads,
    audit: new DynamoAuditLog(aws.dynamo, names.auditTable),
    crypto,
    keys,
    deadLetters,
    tenantScoped,
  };
}

/**
 * Loaded on the first start, not at import: only the privacy and ingest functions start executions, and loading the
 * Step Functions client would add ~9 ms to every other function's cold start.
 */
function createSfnStarter(options: PlatformOptions): WorkflowStarter {
  const { SFNClient } = require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn');
  const { SfnWorkflowStarter } = require('../adapters/sfn-workflow-starter') as typeof import('../adapters/sfn-workflow-starter');
  const client = new SFNClient(options.clients.region ? { region: options.clients.region } : {});
  return new SfnWorkflowStarter(client, (options.stateMachineArns ?? {}) as Record<WorkflowName, string>);
}

/** The Lambda side: names and settings from the environment that the CDK constructs set. */
export function platformOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PlatformOptions {
  const settings = settingsFromEnv(env);
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set`);
    return value;
  };
  const optional = (name: string) => env[name] || undefined;
  return {
    clients: {},
    names: {
      controlTable: env[ENV.controlTable] ?? '',
      dataTable: env[ENV.dataTable] ?? '',
      auditTable: env[ENV.auditTable] ?? '',
      payloadBucket: env[ENV.payloadBucket] ?? '',
      eventStream: env[ENV.eventStream] ?? '',
      exportsBucket: env[ENV.exportsBucket] ?? '',
      recordsBucket: env[ENV.recordsBucket] ?? '',
      ledgerTable: env[ENV.ledgerTable] ?? '',
    },
    signing: env[ENV.keyring] === 'local' ? { mode: 'local', file: `${required(ENV.localKeyDir)}/signing.pem` } : { mode: 'kms', keyId: env[ENV.signingKeyId] ?? '' },
    ...(optional(ENV.stateMachines) ? { stateMachineArns: JSON.parse(optional(ENV.stateMachines)!) } : {}),
    ...(optional(ENV.backupFacts) ? { backupFacts: JSON.parse(optional(ENV.backupFacts)!) } : {}),
    keyring:
      env[ENV.keyring] === 'local'
        ? { mode: 'local', dir: required(ENV.localKeyDir) }
        : { mode: 'kms', aliasPrefix: env[ENV.tenantKeyAliasPrefix] ?? 'alias/lumiqo/tenant/', deployment: env[ENV.tenantKeyDeployment] ?? settings.stage },
    settings,
    ...(optional(ENV.tenantReadRoleArn) ? { tenantReadRoleArn: optional(ENV.tenantReadRoleArn) } : {}),
    ...(optional(ENV.deadLetterQueueUrl) ? { deadLetterQueueUrl: optional(ENV.deadLetterQueueUrl) } : {}),
  };
}

let fromEnv: Platform | undefined;
/** One platform per container, built on first use (not at import, so tests can set the environment first). */
export function platformFromEnv(): Platform {
  fromEnv ??= buildPlatform(platformOptionsFromEnv());
  return fromEnv;
}
