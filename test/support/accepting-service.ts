/**
 * A local stand-in for a JSON-protocol AWS service that has no emulator here (SQS, Step Functions): it accepts
 * every call and answers with `answer(target, body)`, and keeps the `x-amz-target` of each call it received. With
 * the AWS limits layer on (support/aws-limits.ts), a call that reaches it is one AWS would have taken.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AcceptingService {
  readonly url: string;
  /** `x-amz-target` of every call received, in order. */
  readonly received: string[];
  /** Parsed bodies of every call received, in order. */
  readonly bodies: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function acceptingService(answer: (target: string, body: Record<string, unknown>) => object): Promise<AcceptingService> {
  const received: string[] = [];
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target']);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      received.push(target);
      bodies.push(body);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(answer(target, body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What SQS answers to SendMessageBatch: every entry sent, with the MD5 the SDK checks. */
export function sqsBatchAnswer(md5: (text: string) => string) {
  return (_: string, body: Record<string, unknown>) => ({
    Successful: (body.Entries as { Id: string; MessageBody: string }[]).map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: md5(e.MessageBody) })),
    Failed: [],
  });
}
