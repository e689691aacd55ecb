/**
 * FakeSts: AWS STS AssumeRole over its real wire protocol, awsQuery: a form-encoded POST
 * (`Action=AssumeRole&Version=2011-06-15&RoleArn=...&Tags.member.1.Key=...`) answered with
 * `<AssumeRoleResponse><AssumeRoleResult><Credentials>...` XML, errors as `<ErrorResponse><Error><Code>`.
 *
 * The credentials it hands out are the caller's choice (s3rver accepts only `S3RVER`/`S3RVER`, so a test that
 * reads S3 with them must hand out those). The session token carries the session itself, so that whatever later
 * receives a request signed with it can tell which role and which session tags (the tenant) it was made with:
 *
 *   FakeSTS1.<base64url of JSON { roleArn, roleSessionName, tags, expiration }>
 *
 * `decodeSessionToken` reads any such token; `FakeSts.sessionOf` also checks that this fake issued it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError, callerOf, listen, type Call, type Listening, type WireReply } from './server';

export interface StsSession {
  readonly roleArn: string;
  readonly roleSessionName: string;
  /** Session tags, as AssumeRole received them: `aws:PrincipalTag/<key>` in the role's policies. */
  readonly tags: Readonly<Record<string, string>>;
  readonly expiration: string;
}

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface FakeStsOptions {
  /** @default us-east-1 */
  readonly region?: string;
  /** The account of AssumedRoleUser ARNs. @default 000000000000 */
  readonly account?: string;
  readonly now?: () => Date;
  /** The key pair every session gets, or one per session. @default a random ASIA... key pair */
  readonly credentials?: IssuedCredentials | ((session: StsSession) => IssuedCredentials);
  /**
   * The roles that exist, with their MaxSessionDuration (seconds, default 3600, as IAM's default). Given, any
   * other role is refused with AccessDenied, as AWS refuses a role that does not exist or does not trust the
   * caller. @default every well-formed role ARN, MaxSessionDuration 3600
   */
  readonly roles?: Readonly<Record<string, { readonly maxSessionDuration?: number }>>;
}

const TOKEN_PREFIX = 'FakeSTS1.';
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function decodeSessionToken(token: string): StsSession | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  try {
    const session = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as StsSession;
    return typeof session.roleArn === 'string' && typeof session.tags === 'object' ? session : undefined;
  } catch {
    return undefined;
  }
}

export class FakeSts {
  readonly calls: Call[] = [];
  readonly region: string;
  readonly account: string;
  private readonly issued = new Map<string, StsSession>();
  private server?: Listening;

  private constructor(private readonly options: FakeStsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.account = options.account ?? '000000000000';
  }

  static async start(options: FakeStsOptions = {}): Promise<FakeSts> {
    const sts = new FakeSts(options);
    sts.server = await listen(async ({ headers, body }) => sts.handle(headers, body));
    return sts;
  }

  get url(): string {
    if (!this.server) throw new Error('FakeSts is not started');
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }

  /** The session a token stands for, if this fake issued it; a forged or foreign token gives undefined. */
  sessionOf(token: string | undefined): StsSession | undefined {
    return token === undefined ? undefined : this.issued.get(token);
  }

  /** Every session issued, in order. */
  get sessions(): readonly StsSession[] {
    return [...this.issued.values()];
  }

  private handle(headers: IncomingHttpHeaders, body: Buffer): WireReply {
    const form = new URLSearchParams(body.toString('utf8'));
    const input = Object.fromEntries(form);
    try {
      const caller = callerOf(headers, 'sts', this.region);
      if ('refused' in caller) throw new AwsError(caller.refused === 'unsigned' ? 'MissingAuthenticationToken' : 'SignatureDoesNotMatch', caller.message, 403);
      const action = form.get('Action') ?? '';
      this.calls.push({ operation: action, input, caller });
      if (action !== 'AssumeRole' || form.get('Version') !== '2011-06-15') {
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
      }
      return xmlReply(200, `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult>${this.assumeRole(form)}</AssumeRoleResult>${requestId()}</AssumeRoleResponse>`);
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      const type = error.status >= 500 ? 'Receiver' : 'Sender';
      return xmlReply(error.status, `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${error.code}</Code><Message>${escape(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
    }
  }

  private assumeRole(form: URLSearchParams): string {
    const roleArn = form.get('RoleArn') ?? '';
    const role = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(roleArn);
    if (!role) throw new AwsError('ValidationError', `${roleArn ? `'${roleArn}'` : 'RoleArn'} is not a valid role ARN`);
    const known = this.options.roles ? this.options.roles[roleArn] : {};
    if (!known) throw new AwsError('AccessDenied', `Not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    const roleSessionName = form.get('RoleSessionName') ?? '';
    if (!/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) {
      throw new AwsError('ValidationError', `1 validation error detected: Value '${roleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2-64 and satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const duration = Number(form.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw new AwsError('ValidationError', `1 validation error detected: Value '${form.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    }
    if (duration > (known.maxSessionDuration ?? 3600)) throw new AwsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');

    const expiration = new Date(this.now().getTime() + duration * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const session: StsSession = { roleArn, roleSessionName, tags: sessionTags(form), expiration };
    const token = `${TOKEN_PREFIX}${Buffer.from(JSON.stringify({ ...session, nonce: randomUUID() }), 'utf8').toString('base64url')}`;
    this.issued.set(token, session);
    const issue = this.options.credentials;
    const credentials = typeof issue === 'function' ? issue(session) : (issue ?? randomCredentials());
    const assumedRoleId = `AROA${randomBytes(8).toString('hex').toUpperCase()}:${roleSessionName}`;
    return [
      `<Credentials><AccessKeyId>${escape(credentials.accessKeyId)}</AccessKeyId><SecretAccessKey>${escape(credentials.secretAccessKey)}</SecretAccessKey>`,
      `<SessionToken>${token}</SessionToken><Expiration>${expiration}</Expiration></Credentials>`,
      `<AssumedRoleUser><AssumedRoleId>${assumedRoleId}</AssumedRoleId>`,
      `<Arn>arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${roleSessionName}</Arn></AssumedRoleUser>`,
    ].join('');
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

/**
 * `Tags.member.N.Key` / `Tags.member.N.Value`, checked as STS checks session tags: at most 50, keys 1-128 and
 * values 0-256 characters of letters, digits, spaces and `_.:/=+-@`, keys unique regardless of case.
 */
function sessionTags(form: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  const seen = new Set<string>();
  for (let n = 1; form.has(`Tags.member.${n}.Key`); n++) {
    const key = form.get(`Tags.member.${n}.Key`) ?? '';
    const value = form.get(`Tags.member.${n}.Value`) ?? '';
    if (n > 50) throw new AwsError('ValidationError', 'A session can have at most 50 session tags.');
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key)) throw new AwsError('ValidationError', `Invalid session tag key '${key}'`);
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(value)) throw new AwsError('ValidationError', `Invalid value for session tag '${key}'`);
    if (seen.has(key.toLowerCase())) throw new AwsError('ValidationError', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    seen.add(key.toLowerCase());
    tags[key] = value;
  }
  return tags;
}

function randomCredentials(): IssuedCredentials {
  return { accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64') };
}

const requestId = () => `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function xmlReply(status: number, xml: string): WireReply {
  return { status, headers: { 'content-type': 'text/xml' }, body: xml };
}
