/**
 * R-SEC-7: server logs hold no IP address, no user agent and no email. Everything the functions' logger writes
 * (Powertools prints JSON lines to stdout/stderr) is captured while events that carry all three go through
 * ingest and processing, on the happy paths and on the error paths that do log.
 */
import { createHmac } from 'node:crypto';
import { errorResponse } from '../../lambdas/shared/http';
import { logger } from '../../lambdas/shared/logger';
import { apiRequest, createTenant, deliverPublished, expectErrorAnswer, kinesisEvent, postEvents, removeKeyDirectories, tenantWithKey, testPlatform } from './fixtures';

// Everything the functions log must be checked, so this suite logs at the most verbose level (others run at WARN).
beforeAll(() => logger.setLogLevel('DEBUG'));
afterAll(removeKeyDirectories);

const EMAIL = 'zoe.private@example.org';
const IP = '198.51.100.23';
const IPV6 = '2001:db8::7334';
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) PrivateBrowser/9.9';
const PERSONAL = [EMAIL, IP, IPV6, USER_AGENT, 'PrivateBrowser'];

/** Collects every line written to stdout, stderr or the console while `work` runs. */
async function captureLogs(work: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const collect = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(collect),
    jest.spyOn(process.stderr, 'write').mockImplementation(collect),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))),
    ),
  ];
  try {
    await work();
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
  return lines;
}

const clientHeaders = { 'User-Agent': USER_AGENT, 'X-Forwarded-For': `${IP}, ${IPV6}` };
const personalEvent = {
  type: 'api_call',
  method: 'POST',
  route: '/login',
  status: 500,
  latencyMs: 12,
  payload: { email: EMAIL, clientIp: IP },
  properties: { userAgent: USER_AGENT, ip: IPV6, email: EMAIL },
};

describe('R-SEC-7: what the functions log', () => {
  it('R-SEC-7: ingest and processing of events with an email, IP addresses and a user agent log none of them', async () => {
    // Prepare
    const platform = testPlatform();
    const apiKey = await tenantWithKey(platform, 'acme');

    // Act
    const lines = await captureLogs(async () => {
      expect((await postEvents(platform, apiKey, { events: [personalEvent, { type: 'event', name: 'signup', properties: { email: EMAIL } }] }, clientHeaders)).statusCode).toBe(202);
      // A refused body that contains them, and an internal failure while they are in flight.
      expectErrorAnswer(await postEvents(platform, apiKey, `{"email":"${EMAIL}",`, clientHeaders), 400, 'malformed_json');
      expectErrorAnswer(await postEvents(platform, apiKey, { ...personalEvent, status: 'x' }, clientHeaders), 400, 'invalid_event');
      platform.publisher.failures = 1;
      expectErrorAnswer(await postEvents(platform, apiKey, personalEvent, clientHeaders), 500, 'internal_error');

      // Processing: stored events, a poison record holding the email, and an unreachable dead-letter queue.
      expect((await deliverPublished(platform)).batchItemFailures).toEqual([]);
      platform.deadLetters.unreachable = true;
      const poison = kinesisEvent([{ data: `{"email":"${EMAIL}","ip":"${IP}"`, partitionKey: 'acme' }]);
      expect((await platform.processor(poison)).batchItemFailures).toHaveLength(1);
    });

    // Assess: the capture works (the processor logs each batch, the ingest failure is logged) …
    expect(lines.some((line) => line.includes('batch processed'))).toBe(true);
    expect(lines.some((line) => line.includes('unhandled error'))).toBe(true);
    expect(lines.some((line) => line.includes('dead-letter queue send failed'))).toBe(true);
    // … and no line holds anything personal.
    for (const value of PERSONAL) expect(lines.filter((line) => line.includes(value))).toEqual([]);
  });

  it('R-SEC-7: webhook deliveries carrying personal data log none of it, even when publishing fails', async () => {
    // Prepare
    const platform = testPlatform();
    await createTenant(platform, 'acme');
    const created = await platform.admin(
      apiRequest('POST', '/v1/admin/tenants/{tenantId}/webhook-sources', { pathParameters: { tenantId: 'acme' }, body: { scheme: 'github', sourceId: 'gh' } }),
    );
    const secret = (JSON.parse(created.body) as { secret: string }).secret;
    const body = JSON.stringify({ pusher: { email: EMAIL }, sender: { ip: IP } });
    const delivery = (id: string) =>
      apiRequest('POST', '/v1/hooks/{tenantId}/{sourceId}', {
        pathParameters: { tenantId: 'acme', sourceId: 'gh' },
        body,
        headers: {
          ...clientHeaders,
          'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          'X-GitHub-Delivery': id,
        },
      });

    // Act
    const lines = await captureLogs(async () => {
      platform.publisher.failures = 1;
      expectErrorAnswer(await platform.ingest(delivery('d-1')), 500, 'internal_error');
      expect((await platform.ingest(delivery('d-1'))).statusCode).toBe(202);
      expect((await deliverPublished(platform)).batchItemFailures).toEqual([]);
    });

    // Assess
    expect(lines.length).toBeGreaterThan(0);
    for (const value of PERSONAL) expect(lines.filter((line) => line.includes(value))).toEqual([]);
  });
});

describe('issue 10, R-SEC-7: an unexpected error is logged by its name and code only', () => {
  it('never logs the message, which can echo request strings', async () => {
    const secret = `Invalid tenant id '${EMAIL}' from ${IP}`;
    const failure = Object.assign(new Error(secret), { name: 'ValidationException', code: 'E_KEY' });
    let status = 0;
    const lines = await captureLogs(async () => {
      status = errorResponse(failure).statusCode;
    });
    expect(status).toBe(500);
    const text = lines.join('\n');
    expect(text).toContain('ValidationException');
    expect(text).toContain('E_KEY');
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(IP);
    expect(text).not.toContain('Invalid tenant id');
  });
});
