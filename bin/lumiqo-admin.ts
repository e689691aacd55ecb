#!/usr/bin/env node
/**
 * The operator CLI (`npm run cli -- <command>`): tenant administration over the operator routes.
 * - Local (default): the local runtime's URL, with its admin token (from --token, LUMIQO_ADMIN_TOKEN, or the
 *   data directory's state file).
 * - AWS (`--aws --url <ApiUrl output>`): requests signed with SigV4 for execute-api, with the credentials of the
 *   SDK's default chain (environment, profile, SSO, instance role), as the IAM-authorised routes require (R-SEC-5).
 */
import { createHash, createHmac, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { verifyDeletionDocument, type SignedDeletionDocument } from '../lambdas/domain/deletion-records';
import { parseArgs } from 'node:util';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { adminTokenOf } from './local/demo';
import { DEFAULT_PORT } from './local/platform';

export const USAGE = `Usage: npm run cli -- [target] <command> [arguments]

Target (default: the local runtime):
  --url <url>          API base URL (local default http://127.0.0.1:${DEFAULT_PORT}, or LUMIQO_URL)
  --token <token>      local admin token (or LUMIQO_ADMIN_TOKEN; else read from --data-dir / LUMIQO_DATA_DIR)
  --aws                sign with SigV4 for a deployed API; --url is the stack's ApiUrl output
  --region <region>    region of the deployed API (default: from the URL)

Commands:
  create-tenant <tenantId> --name <name> [--plan starter|business|enterprise] [--retention-days <n>]
  get-tenant <tenantId>
  issue-key <tenantId> [--scopes ingest,read,privacy]   (default: ingest only; R-SEC-5: an ingest key for
                       senders, a read key for dashboards, a privacy key for the back office)
  revoke-key <tenantId> <keyId>
  create-source <tenantId> --scheme standard|stripe|shopify|github [--source-id <id>] [--secret <secret>]
  rotate-source <tenantId> <sourceId> [--secret <secret>]
  audit <tenantId> [--month YYYY-MM]
  subject-audit <tenantId> (--subject-kind <kind> --subject-value <value> | --subject-hash <hash>)
                       R-SEC-6: everything done to or about one data subject
  privacy-request <tenantId> --type access|erasure|rectification|restriction|lift-restriction|consent
                  --subject-kind <kind> --subject-value <value> [--corrections '<json array of {path, value}>']
  privacy-status <tenantId> <requestId>
  privacy-retry <tenantId> <requestId>   R-DSR-5: runs a failed request again (audited)
  privacy-close <tenantId> <requestId> --reason answered-outside-platform|withdrawn-by-subject|duplicate|manifestly-unfounded
  consent <tenantId> [--analytics on|off] [--ai on|off] [--subject-kind <kind> --subject-value <value>]
                  R-DSR-4: turns a purpose off (objection, consent withdrawn) or on again, for the tenant or, with a
                  subject, for that subject (a consent request: follow it with privacy-status)
  consent-status <tenantId>              the tenant's flags and every subject's by hash
  terminate <tenantId> [--immediate]      (default: 30-day export window, then purge; R-TERM-3)
  termination-status <tenantId>
  termination-resume <tenantId>   (a failed or lost termination goes on from its last checkpoint; audited)
  termination-reset <tenantId>    (starts a termination over from the freeze, only before the purge; audited)
  ask "<question>" [--conversation <id>] --api-key <key>   (or LUMIQO_API_KEY; a key of scope ai: the AI
                       assistant over that key's tenant, R-AI-1; no admin token or SigV4 needed)

Offline:
  verify-certificate <file> (--public-key <pem file> | --aws --key-id <signing key ARN>)
                       checks a deletion certificate or deletion record (the JSON the status commands print, or
                       the object in the records bucket) against the signing key's public key`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  aws: { type: 'boolean' },
  region: { type: 'string' },
  name: { type: 'string' },
  plan: { type: 'string' },
  'retention-days': { type: 'string' },
  scheme: { type: 'string' },
  'source-id': { type: 'string' },
  secret: { type: 'string' },
  scopes: { type: 'string' },
  month: { type: 'string' },
  type: { type: 'string' },
  'subject-kind': { type: 'string' },
  'subject-value': { type: 'string' },
  'subject-hash': { type: 'string' },
  corrections: { type: 'string' },
  analytics: { type: 'string' },
  reason: { type: 'string' },
  ai: { type: 'string' },
  immediate: { type: 'boolean' },
  'public-key': { type: 'string' },
  'key-id': { type: 'string' },
  'api-key': { type: 'string' },
  conversation: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface AdminRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path below the API base, with query string. */
  readonly path: string;
  readonly body?: Record<string, unknown>;
  /** A tenant route: authorised by this API key, not as an operator. */
  readonly apiKey?: string;
}

class UsageError extends Error {}

/** The operator route a command calls (the same routes as lambdas/shared/routes.ts). */
export function commandRequest(command: string, args: readonly string[], values: Values, env: NodeJS.ProcessEnv = {}): AdminRequest {
  const need = (count: number) => {
    if (args.length !== count) throw new UsageError(`${command}: expected ${count} argument(s), got ${args.length}`);
    return args.map(encodeURIComponent);
  };
  const optional = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  switch (command) {
    case 'create-tenant': {
      need(1);
      if (!values.name) throw new UsageError('create-tenant: --name is required');
      const retention = values['retention-days'] === undefined ? undefined : Number(values['retention-days']);
      return { method: 'POST', path: '/v1/admin/tenants', body: optional({ tenantId: args[0], name: values.name, plan: values.plan, retentionDays: retention }) };
    }
    case 'get-tenant':
      return { method: 'GET', path: `/v1/admin/tenants/${need(1)[0]}` };
    case 'issue-key':
      return { method: 'POST', path: `/v1/admin/tenants/${need(1)[0]}/api-keys`, body: optional({ scopes: values.scopes?.split(',').map((scope) => scope.trim()).filter(Boolean) }) };
    case 'revoke-key': {
      const [tenantId, keyId] = need(2);
      return { method: 'DELETE', path: `/v1/admin/tenants/${tenantId}/api-keys/${keyId}` };
    }
    case 'create-source': {
      const [tenantId] = need(1);
      if (!values.scheme) throw new UsageError('create-source: --scheme is required');
      return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/webhook-sources`, body: optional({ scheme: values.scheme, sourceId: values['source-id'], secret: values.secret }) };
    }
    case 'rotate-source': {
      const [tenantId, sourceId] = need(2);
      return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/webhook-sources/${sourceId}/rotate`, body: optional({ secret: values.secret }) };
    }
    case 'audit': {
      const month = values.month ? `?month=${encodeURIComponent(values.month)}` : '';
      return { method: 'GET', path: `/v1/admin/tenants/${need(1)[0]}/audit${month}` };
    }
    case 'subject-audit': {
      const [tenantId] = need(1);
      const byValue = values['subject-kind'] !== undefined && values['subject-value'] !== undefined;
      if (byValue === (values['subject-hash'] !== undefined)) throw new UsageError('subject-audit: --subject-kind with --subject-value, or --subject-hash');
      const body = byValue ? { subject: { kind: values['subject-kind'], value: values['subject-value'] } } : { subjectHash: values['subject-hash'] };
      return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/audit/subject`, body };
    }
    case 'privacy-request': {
      const [tenantId] = need(1);
      if (!values.type || !values['subject-kind'] || values['subject-value'] === undefined) {
        throw new UsageError('privacy-request: --type, --subject-kind and --subject-value are required');
      }
      let corrections: unknown;
      if (values.corrections !== undefined) {
        try {
          corrections = JSON.parse(values.corrections);
        } catch {
          throw new UsageError('privacy-request: --corrections must be a JSON array of {path, value}');
        }
      }
      return {
        method: 'POST',
        path: `/v1/admin/tenants/${tenantId}/privacy/requests`,
        body: optional({ type: values.type, subject: { kind: values['subject-kind'], value: values['subject-value'] }, corrections }),
      };
    }
    case 'privacy-status': {
      const [tenantId, requestId] = need(2);
      return { method: 'GET', path: `/v1/admin/tenants/${tenantId}/privacy/requests/${requestId}` };
    }
    case 'privacy-retry': {
      const [tenantId, requestId] = need(2);
      return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/privacy/requests/${requestId}/retry`, body: {} };
    }
    case 'privacy-close': {
      const [tenantId, requestId] = need(2);
      if (!values.reason) throw new UsageError('privacy-close: --reason is required');
      return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/privacy/requests/${requestId}/close`, body: { reason: values.reason } };
    }
    case 'consent': {
      const [tenantId] = need(1);
      const flag = (name: 'analytics' | 'ai') => {
        const value = values[name];
        if (value !== undefined && value !== 'on' && value !== 'off') throw new UsageError(`consent: --${name} is on or off`);
        return value === undefined ? undefined : value === 'on';
      };
      const purposes = optional({ analytics: flag('analytics'), ai: flag('ai') });
      if (Object.keys(purposes).length === 0) throw new UsageError('consent: name --analytics and/or --ai');
      if ((values['subject-kind'] === undefined) !== (values['subject-value'] === undefined)) {
        throw new UsageError('consent: --subject-kind and --subject-value go together');
      }
      if (values['subject-kind'] === undefined) return { method: 'POST', path: `/v1/admin/tenants/${tenantId}/privacy/consent`, body: { purposes } };
      return {
        method: 'POST',
        path: `/v1/admin/tenants/${tenantId}/privacy/requests`,
        body: { type: 'consent', subject: { kind: values['subject-kind'], value: values['subject-value'] }, purposes },
      };
    }
    case 'consent-status':
      return { method: 'GET', path: `/v1/admin/tenants/${need(1)[0]}/privacy/consent` };
    case 'terminate':
      return { method: 'POST', path: `/v1/admin/tenants/${need(1)[0]}/termination`, body: { election: values.immediate ? 'immediate' : 'export-then-delete' } };
    case 'termination-status':
      return { method: 'GET', path: `/v1/admin/tenants/${need(1)[0]}/termination` };
    // R-TERM-1..5: the operator's recovery actions (README "Termination recovery").
    case 'termination-resume':
      return { method: 'POST', path: `/v1/admin/tenants/${need(1)[0]}/termination/resume` };
    case 'termination-reset':
      return { method: 'POST', path: `/v1/admin/tenants/${need(1)[0]}/termination/reset` };
    case 'ask': {
      if (args.length !== 1 || !args[0]) throw new UsageError('ask: expected the question, quoted');
      const apiKey = values['api-key'] ?? env.LUMIQO_API_KEY;
      if (!apiKey) throw new UsageError('ask: pass --api-key <key of scope ai> or LUMIQO_API_KEY');
      const conversation = values.conversation ? `/${encodeURIComponent(values.conversation)}/messages` : '';
      return { method: 'POST', path: `/v1/ai/conversations${conversation}`, body: { question: args[0] }, apiKey };
    }
    default:
      throw new UsageError(`Unknown command '${command}'`);
  }
}

/**
 * R-TERM-5, R-DSR-2: verifies a signed deletion document offline. The file may hold the document itself
 * (`{document, signature}`, as stored in the records bucket) or a status answer that carries it.
 */
export async function verifyCertificateFile(file: string, values: Values): Promise<{ valid: boolean; kind?: string; keyId?: string }> {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const signed = (parsed.certificate ?? (parsed.results as Record<string, unknown> | undefined)?.deletionRecord ?? parsed) as SignedDeletionDocument;
  if (!signed?.document || !signed.signature) throw new UsageError(`${file}: no signed deletion document ({document, signature}) found`);
  let publicKeyPem: string;
  if (values['public-key']) {
    publicKeyPem = readFileSync(values['public-key'], 'utf8');
  } else if (values.aws && values['key-id']) {
    // The public half from KMS, as `aws kms get-public-key` returns it (DER SubjectPublicKeyInfo).
    const kms = new KMSClient(values.region ? { region: values.region } : {});
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: values['key-id'] }));
    kms.destroy();
    if (!PublicKey) throw new Error(`KMS returned no public key for ${values['key-id']}`);
    publicKeyPem = createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
  } else {
    throw new UsageError('verify-certificate: pass --public-key <pem file>, or --aws --key-id <signing key ARN>');
  }
  return { valid: verifyDeletionDocument(signed, publicKeyPem), kind: signed.document.kind, keyId: signed.signature.keyId };
}

/** SHA-256 for the SigV4 signer, over node:crypto (HMAC when given a secret). */
export class NodeSha256 implements Checksum {
  private hash;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** execute-api region from `https://<id>.execute-api.<region>.amazonaws.com/<stage>`. */
export function regionOf(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
}

export interface SigningIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Headers of a SigV4-signed request to execute-api (IAM authorization of the operator routes). */
export async function signedHeaders(
  url: URL,
  method: string,
  body: string | undefined,
  region: string,
  credentials: SigningIdentity,
  signingDate?: Date,
): Promise<Record<string, string>> {
  // execute-api needs no x-amz-content-sha256 header (S3 does): the payload hash is in the signature either way.
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: NodeSha256, applyChecksum: false });
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signed = await signer.sign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query,
      headers: { host: url.host, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body,
    },
    signingDate ? { signingDate } : {},
  );
  return signed.headers;
}

export interface CliIo {
  readonly out: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs the CLI; returns the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo = { out: (line) => console.log(line), env: process.env }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (error) {
    io.out(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  const [command, ...args] = positionals;
  let request: AdminRequest;
  try {
    if (command === 'verify-certificate') {
      if (args.length !== 1) throw new UsageError('verify-certificate: expected the certificate file');
      const outcome = await verifyCertificateFile(args[0], values);
      io.out(JSON.stringify(outcome, null, 2));
      return outcome.valid ? 0 : 1;
    }
    request = commandRequest(command, args, values, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.out(`${error.message}\n\n${USAGE}`);
    return 2;
  }

  const base = (values.url ?? io.env.LUMIQO_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`).replace(/\/+$/, '');
  const url = new URL(`${base}${request.path}`);
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  let headers: Record<string, string>;
  if (request.apiKey) {
    headers = { authorization: `Bearer ${request.apiKey}`, 'content-type': 'application/json' };
  } else if (values.aws) {
    const region = values.region ?? regionOf(url) ?? io.env.AWS_REGION;
    if (!region) throw new Error('--aws: pass --region (the URL names none)');
    // The SDK's default credential chain, as every AWS tool resolves it.
    const sts = new STSClient({ region });
    const credentials = await sts.config.credentials();
    sts.destroy();
    headers = await signedHeaders(url, request.method, body, region, credentials);
  } else {
    const dataDir = values['data-dir'] ?? io.env.LUMIQO_DATA_DIR;
    const token = values.token ?? io.env.LUMIQO_ADMIN_TOKEN ?? (dataDir ? adminTokenOf(dataDir) : undefined);
    if (!token) throw new Error('No admin token: pass --token (printed by npm start), LUMIQO_ADMIN_TOKEN, or --data-dir');
    headers = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  }
  const response = await fetch(url, { method: request.method, headers, body }).catch((error: Error) => {
    throw new Error(`Cannot reach ${base}${values.aws ? '' : ' (is `npm start` running?)'}: ${error.message}`);
  });
  const text = await response.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: shown as it came.
  }
  io.out(shown);
  return response.ok ? 0 : 1;
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
