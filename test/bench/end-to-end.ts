/**
 * Section 6: end to end over the local platform (bin/local: the same handlers behind a local API Gateway, the
 * processor behind an emulated Kinesis event source mapping, dynalite, kinesalite, s3rver).
 * - Sustained ingest over HTTP: a fixed number of requests from concurrent keep-alive clients; baseline: a bare
 *   node:http server that JSON.parses the same bodies and answers 202, driven the same way.
 * - Processing: from the first request until the last request's events are readable through the query API.
 * - Latency from the 202 to the moment the record can be read back (query API), p50 and p95, for probes sent at
 *   a low rate once the backlog has drained; baseline: the synthesized batching window, the floor Lambda adds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPlatform } from '../../bin/local/platform';
import type { Figure } from './report';
import { percentile, round } from './stats';
import { apiCallEvent } from './workload';

const CONCURRENCY = 16;
// Small on purpose: over dynalite the local processor stores only some tens of records per second, and the
// latency probes must find the backlog drained.
const SINGLE_REQUESTS = 600;
const BATCH_REQUESTS = 10;
const BATCH_EVENTS = 100;
const PROBES = 40;
const PROBE_SPACING_MS = 100;
const POLL_MS = 25;
const DRAIN_TIMEOUT_MS = 180_000;

interface Load {
  readonly requests: number;
  readonly events: number;
  readonly wallMs: number;
  /** Event ids of the last request each client sent. */
  readonly lastEventIds: string[];
}

/** `requests` POSTs from CONCURRENCY clients; throws on any answer other than 202. */
async function sustain(url: string, headers: Record<string, string>, requests: number, body: (i: number) => string, eventsPerRequest: number): Promise<Load> {
  let next = 0;
  const started = performance.now();
  const lastEventIds: string[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      let last: string[] = [];
      while (next < requests) {
        const i = next++;
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body(i) });
        const text = await response.text();
        if (response.status !== 202) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 200)}`);
        last = (JSON.parse(text) as { eventIds?: string[] }).eventIds ?? [];
      }
      lastEventIds.push(...last);
    }),
  );
  return { requests, events: requests * eventsPerRequest, wallMs: performance.now() - started, lastEventIds };
}

/** The physical limit of HTTP on this machine: parse the body, answer 202. */
async function startBareServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function endToEndSection(): Promise<{ figures: Figure[]; details: unknown }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'lumiqo-bench-local-'));
  const errors: string[] = [];
  const local = await startLocalPlatform({ port: 0, demo: true, cacheDir, log: (message, error) => errors.push(`${message}: ${String(error)}`) });
  const bare = await startBareServer();
  try {
    const demo = local.demo;
    if (!demo) throw new Error('the local platform created no demo tenant');
    const auth = { authorization: `Bearer ${demo.apiKey}` };
    // Issue 10's scopes: the ingest key cannot read (403); reads take the demo's read key.
    const readAuth = { authorization: `Bearer ${demo.readApiKey}` };
    const singleBody = (i: number) => JSON.stringify(apiCallEvent(i, new Date().toISOString()));
    const batchBody = (i: number) =>
      JSON.stringify({ events: Array.from({ length: BATCH_EVENTS }, (_, j) => apiCallEvent(i * BATCH_EVENTS + j, new Date().toISOString())) });

    const bareSingle = await sustain(`${bare.url}/v1/events`, auth, SINGLE_REQUESTS, singleBody, 1);
    const bareBatch = await sustain(`${bare.url}/v1/events`, auth, BATCH_REQUESTS, batchBody, BATCH_EVENTS);
    const loadStarted = performance.now();
    const single = await sustain(`${local.url}/v1/events`, auth, SINGLE_REQUESTS, singleBody, 1);
    const batch = await sustain(`${local.url}/v1/events`, auth, BATCH_REQUESTS, batchBody, BATCH_EVENTS);

    // Processing: wait until the last events of every client are readable.
    const readable = async (eventId: string) => (await fetch(`${local.url}/v1/events/${eventId}`, { headers: readAuth })).status === 200;
    let pending = [...single.lastEventIds, ...batch.lastEventIds];
    while (pending.length > 0) {
      if (performance.now() - loadStarted > DRAIN_TIMEOUT_MS) throw new Error(`${pending.length} events still unreadable after ${DRAIN_TIMEOUT_MS / 1000} s`);
      const still = await Promise.all(pending.map(async (id) => ((await readable(id)) ? undefined : id)));
      pending = still.filter((id): id is string => id !== undefined);
      if (pending.length > 0) await sleep(100);
    }
    const drainedMs = performance.now() - loadStarted;
    const processedPerSecond = (single.events + batch.events) / (drainedMs / 1000);

    // Latency probes, one every PROBE_SPACING_MS, found by one list query per poll.
    const probeName = `bench-probe-${Date.now()}`;
    const acceptedAt = new Map<string, number>();
    const latencies = new Map<string, number>();
    let sending = true;
    const poller = (async () => {
      while (sending || latencies.size < acceptedAt.size) {
        const response = await fetch(`${local.url}/v1/events?kind=event&name=${probeName}&limit=100`, { headers: readAuth });
        const { items } = (await response.json()) as { items: { eventId: string }[] };
        const now = performance.now();
        for (const { eventId } of items) {
          const at = acceptedAt.get(eventId);
          if (at !== undefined && !latencies.has(eventId)) latencies.set(eventId, now - at);
        }
        if (now - loadStarted > DRAIN_TIMEOUT_MS * 2) throw new Error('latency probes never became readable');
        await sleep(POLL_MS);
      }
    })();
    for (let i = 0; i < PROBES; i++) {
      const response = await fetch(`${local.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ type: 'event', name: probeName, properties: { probe: i } }),
      });
      const answer = (await response.json()) as { eventIds: string[] };
      acceptedAt.set(answer.eventIds[0], performance.now());
      await sleep(PROBE_SPACING_MS);
    }
    sending = false;
    await poller;
    const samples = [...latencies.values()];
    const window = local.deployment.eventSource.maxBatchingWindowMs;

    const perSecond = (load: Load) => load.events / (load.wallMs / 1000);
    const figures: Figure[] = [
      {
        section: '6 end to end',
        name: `ingest over HTTP, single events, ${CONCURRENCY} keep-alive clients`,
        value: round(perSecond(single)),
        unit: 'events/s',
        baseline: { name: 'bare node:http + JSON.parse', value: round(perSecond(bareSingle)) },
      },
      {
        section: '6 end to end',
        name: `ingest over HTTP, batches of ${BATCH_EVENTS}, ${CONCURRENCY} keep-alive clients`,
        value: round(perSecond(batch)),
        unit: 'events/s',
        baseline: { name: 'bare node:http + JSON.parse', value: round(perSecond(bareBatch)) },
      },
      {
        section: '6 end to end',
        name: `processed until readable (${(single.events + batch.events).toLocaleString('en-US')} events, kinesalite + dynalite)`,
        value: round(processedPerSecond),
        unit: 'events/s',
      },
      {
        section: '6 end to end',
        name: `202 to readable, p50 (p95 ${round(percentile(samples, 95))} ms, ${samples.length} probes)`,
        value: round(percentile(samples, 50)),
        unit: 'ms',
        baseline: { name: 'synthesized batching window', value: window },
      },
    ];
    if (errors.length > 0) throw new Error(`local platform reported errors: ${errors.slice(0, 3).join(' / ')}`);
    return {
      figures,
      details: { startupMs: local.startupMs, eventSource: local.deployment.eventSource, single, batch, bareSingle, bareBatch, drainedMs, latenciesMs: samples },
    };
  } finally {
    await new Promise((resolve) => bare.server.close(resolve));
    await local.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}
