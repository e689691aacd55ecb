/**
 * API Gateway, locally: serves the one route table (lambdas/shared/routes.ts, which the CDK construct also
 * builds the REST API from) on 127.0.0.1. Each request becomes the proxy event API Gateway would send
 * (resource, path and query parameters, headers, raw body, requestContext) and goes to the same handler.
 * Operator routes ('iam' in AWS, SigV4) require the local admin token instead, and carry a local operator
 * identity as `requestContext.identity.userArn`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError } from '../../lambdas/domain/model';
import { matchRoute, type FunctionName } from '../../lambdas/shared/routes';
import { LOCAL_ACCOUNT } from './emulators';

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** The operator identity of requests that present the local admin token. */
export const LOCAL_OPERATOR_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/local-operator`;
/** API Gateway refuses larger payloads (10 MB) before any function runs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly handlers: Readonly<Record<FunctionName, ProxyHandler>>;
  readonly adminToken: string;
  /** The stage name: `/<stage>/v1/...` (the shape of the deployed URL) is served as well as `/v1/...`. */
  readonly stage: string;
  /** Local-only routes under `/_local/` (admin token required), e.g. the dead-letter queue. */
  readonly localRoutes?: Readonly<Record<string, () => unknown>>;
  readonly onError?: (error: unknown) => void;
}

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions, port: number): Promise<RunningGateway> {
  const server = createServer((req, res) => {
    serve(options, req, res).catch((error) => {
      options.onError?.(error);
      if (!res.headersSent) reply(res, 502, { message: 'Internal server error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${actualPort}`, port: actualPort, close: () => closeServer(server) };
}

async function serve(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const stagePrefix = `/${options.stage}/`;
  const path = url.pathname.startsWith(stagePrefix) ? url.pathname.slice(stagePrefix.length - 1) : url.pathname;
  const method = req.method ?? 'GET';

  if (path.startsWith('/_local/') && method === 'GET') {
    const local = options.localRoutes?.[path.slice('/_local/'.length)];
    if (!local) return reply(res, 404, { error: { code: 'not_found', message: `No local route ${path}` } });
    if (!hasAdminToken(req, options.adminToken)) return reply(res, 403, { message: 'Missing Authentication Token' });
    return reply(res, 200, local());
  }

  let match: ReturnType<typeof matchRoute>;
  try {
    match = matchRoute(method, path);
  } catch (error) {
    // Issue 10: malformed percent-encoding is the client's error (API Gateway answers it with a 4xx too).
    if (error instanceof DomainError) return reply(res, error.status, { error: { code: error.code, message: error.message } });
    throw error;
  }
  if (!match) return reply(res, 404, { error: { code: 'not_found', message: `No route ${method} ${path}` } });
  // API Gateway answers an unsigned request to an IAM route with this 403, before any function runs.
  if (match.route.auth === 'iam' && !hasAdminToken(req, options.adminToken)) return reply(res, 403, { message: 'Missing Authentication Token' });

  const body = await readBody(req);
  if (body === undefined) return reply(res, 413, { message: 'Request Too Long' });
  const event = proxyEvent(req, url, path, match.route.path, match.params, body, options.stage, match.route.auth === 'iam');
  const result = await options.handlers[match.route.fn](event);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
  res.writeHead(result.statusCode, headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  path: string,
  resource: string,
  pathParameters: Record<string, string>,
  body: Buffer,
  stage: string,
  operator: boolean,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  // Without binary media types API Gateway hands text bodies over as strings; other bytes go base64-encoded.
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  const now = Date.now();
  return {
    resource,
    path,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body.length === 0 ? null : isText ? text : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: req.method ?? 'GET',
      path: `/${stage}${path}`,
      stage,
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: resource,
      identity: {
        accessKey: null,
        accountId: operator ? LOCAL_ACCOUNT : null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: operator ? LOCAL_OPERATOR_ARN : null,
      },
    },
  };
}

function hasAdminToken(req: IncomingMessage, token: string): boolean {
  const presented = Buffer.from(req.headers.authorization ?? '', 'utf8');
  const expected = Buffer.from(`Bearer ${token}`, 'utf8');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** The body, or undefined when it exceeds API Gateway's payload limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
