/**
 * R-AI-1, R-AI-2, OWASP LLM06 excessive agency: the model only chooses among these typed tools, each with a strict
 * JSON schema (`additionalProperties: false`, every property required, nullable where optional). It never writes a
 * query, a key expression or a tenant id: no tool takes a tenant, and the tenant every tool reads is the one of the
 * verified credential, through adapters whose credentials reach only that tenant's data (R-SEC-4). Arguments are
 * validated again here (a model may ignore the schema); a bad or unknown argument is answered to the model as an
 * error, never run. Every tool caps its rows.
 */
import * as z from '../zod';
import type { EventView } from '../queries';
import type { Rollup } from '../ports';
import { clearQuerySeries } from '../clear-metadata';
import { mergeRollups, minuteOf, summariseRollup } from '../rollups';
import type { InsightItem, ToolDefinition } from './ports';

/** What the tools read, all of it bound to one tenant before a tool runs. */
export interface TenantToolReader {
  /** Rollups of the tenant from..to (ISO minutes), optionally one series. */
  rollups(fromMinute: string, toMinute: string, series?: string): Promise<Rollup[]>;
  /** A page of the tenant's events (the read route's query, decrypted). */
  events(query: { kind: string; name?: string; from?: string; to?: string; limit: number }): Promise<EventView[]>;
  insights(limit: number): Promise<InsightItem[]>;
  /** R-DSR-2: the subject hashes of every record read so far (stored with the conversation, for erasure). */
  subjectsSeen?(): readonly string[];
}

export interface ToolOutcome {
  /** What goes back to the model, before redaction. */
  readonly result: unknown;
  /** Record and rollup keys the result drew on (R-AI-5: shown as the answer's sources). */
  readonly sources: readonly string[];
  readonly ok: boolean;
}

export const ROW_CAPS = { series: 100, aggregate: 200, samples: 5, insights: 20 } as const;
const MAX_WINDOW_MS = 7 * 24 * 3600_000;
const KINDS = ['event', 'api_call', 'metric', 'webhook'] as const;
const SERIES_PREFIX: Readonly<Record<(typeof KINDS)[number], string>> = { event: 'event:', api_call: 'api:', metric: 'metric:', webhook: 'webhook:' };
const STATUS_CLASSES = ['success', '4xx', '5xx'] as const;

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const strict = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const TIME = (what: string) => nullable('string', { description: `${what}, ISO 8601 (e.g. 2026-12-01T10:00:00Z); null: ${what === 'from' ? '24 hours before to' : 'now'}` });

export const TOOL_DEFINITIONS: readonly ToolDefinition[] = [
  {
    name: 'list_series',
    description: 'Lists the tenant\'s event names, API routes (as "api:METHOD /route"), metrics and webhook sources seen recently, with their counts.',
    parameters: strict({ hours_back: { type: 'integer', minimum: 1, maximum: 168, description: 'How many hours back to look' } }),
  },
  {
    name: 'count_events',
    description: 'Counts events of a kind (optionally one name or route) over a time window, optionally only one status class (API calls).',
    parameters: strict({
      kind: { type: 'string', enum: [...KINDS] },
      name: nullable('string', { description: 'Event name, metric name, webhook source, or "METHOD /route" for api_call; null: all' }),
      status_class: nullable('string', { enum: [...STATUS_CLASSES, null], description: 'API calls only: success (below 400), 4xx or 5xx' }),
      from: TIME('from'),
      to: TIME('to'),
    }),
  },
  {
    name: 'aggregate_rollups',
    description: 'Per time bucket and series: count, 4xx and 5xx error rates, average and p50/p95/p99 latency (API) or value (metrics).',
    parameters: strict({
      series: nullable('string', { description: 'One series exactly as list_series names it, e.g. "api:POST /checkout"; null: every series' }),
      bucket_minutes: { type: 'integer', minimum: 1, maximum: 1440 },
      from: TIME('from'),
      to: TIME('to'),
    }),
  },
  {
    name: 'sample_events',
    description: 'Fetches a few example records (personal data redacted), newest first.',
    parameters: strict({
      kind: { type: 'string', enum: [...KINDS] },
      name: nullable('string', { description: 'As in count_events; null: any' }),
      status_class: nullable('string', { enum: [...STATUS_CLASSES, null] }),
      from: TIME('from'),
      to: TIME('to'),
      limit: { type: 'integer', minimum: 1, maximum: ROW_CAPS.samples },
    }),
  },
  {
    name: 'list_insights',
    description: 'Lists anomalies the platform\'s detector found in the tenant\'s rollups (error rate, p95 latency, volume), with their evidence.',
    parameters: strict({ limit: { type: 'integer', minimum: 1, maximum: ROW_CAPS.insights } }),
  },
];

const isoTime = z.nullable(z.iso.datetime({ offset: true }));
const kind = z.enum(KINDS);
const name = z.nullable(z.string().check(z.minLength(1), z.maxLength(512)));
const statusClass = z.nullable(z.enum(STATUS_CLASSES));
const ARGUMENTS = {
  list_series: z.strictObject({ hours_back: z.int().check(z.minimum(1), z.maximum(168)) }),
  count_events: z.strictObject({ kind, name, status_class: statusClass, from: isoTime, to: isoTime }),
  aggregate_rollups: z.strictObject({
    series: z.nullable(z.string().check(z.minLength(1), z.maxLength(1200))),
    bucket_minutes: z.int().check(z.minimum(1), z.maximum(1440)),
    from: isoTime,
    to: isoTime,
  }),
  sample_events: z.strictObject({ kind, name, status_class: statusClass, from: isoTime, to: isoTime, limit: z.int().check(z.minimum(1), z.maximum(ROW_CAPS.samples)) }),
  list_insights: z.strictObject({ limit: z.int().check(z.minimum(1), z.maximum(ROW_CAPS.insights)) }),
} as const;
type ToolName = keyof typeof ARGUMENTS;

const refuse = (error: string, detail: string): ToolOutcome => ({ result: { error, detail }, sources: [], ok: false });

/** The window a tool reads: default the last 24 hours, at most 7 days, `from` before `to`. */
function windowOf(args: { from: string | null; to: string | null }, now: Date): { from: Date; to: Date } | string {
  const to = args.to ? new Date(args.to) : now;
  const from = args.from ? new Date(args.from) : new Date(to.getTime() - 24 * 3600_000);
  if (from > to) return 'from must precede to';
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) return 'the window is at most 7 days';
  return { from, to };
}

/** The series of a kind, or of one name as asked: matched as stored, identifier-shaped parts templated (clear-metadata.ts). */
function seriesMatcher(k: (typeof KINDS)[number], n: string | null): (series: string) => boolean {
  if (n === null) return (series) => series.startsWith(SERIES_PREFIX[k]);
  const wanted = clearQuerySeries(`${SERIES_PREFIX[k]}${n}`);
  return (series) => series === wanted;
}

/** Runs one tool call for the tenant `reader` is bound to. Never throws for bad arguments. */
export async function runTool(toolName: string, rawArguments: string, reader: TenantToolReader, now: Date): Promise<ToolOutcome> {
  if (!Object.hasOwn(ARGUMENTS, toolName)) return refuse('unknown_tool', `No tool '${toolName.slice(0, 64)}'; use one of ${Object.keys(ARGUMENTS).join(', ')}`);
  let json: unknown;
  try {
    json = JSON.parse(rawArguments);
  } catch {
    return refuse('invalid_arguments', 'The arguments are not JSON');
  }
  const parsed = ARGUMENTS[toolName as ToolName].safeParse(json);
  if (!parsed.success) {
    return refuse('invalid_arguments', parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; '));
  }
  const args = parsed.data as never;
  switch (toolName as ToolName) {
    case 'list_series':
      return listSeries(args, reader, now);
    case 'count_events':
      return countEvents(args, reader, now);
    case 'aggregate_rollups':
      return aggregateRollups(args, reader, now);
    case 'sample_events':
      return sampleEvents(args, reader, now);
    case 'list_insights':
      return listInsights(args, reader);
  }
}

const rollupSource = (series: string, from: Date, to: Date) => `rollup:${series}@${minuteOf(from.toISOString())}..${minuteOf(to.toISOString())}`;

async function listSeries(args: z.infer<(typeof ARGUMENTS)['list_series']>, reader: TenantToolReader, now: Date): Promise<ToolOutcome> {
  const from = new Date(now.getTime() - args.hours_back * 3600_000);
  const counts = new Map<string, number>();
  for (const r of await reader.rollups(minuteOf(from.toISOString()), minuteOf(now.toISOString()))) {
    counts.set(r.series, (counts.get(r.series) ?? 0) + (r.counters.count ?? 0));
  }
  const series = [...counts].sort((a, b) => b[1] - a[1]).slice(0, ROW_CAPS.series).map(([s, count]) => ({ series: s, count }));
  return { result: { series, truncated: counts.size > ROW_CAPS.series }, sources: series.map((s) => rollupSource(s.series, from, now)), ok: true };
}

async function countEvents(args: z.infer<(typeof ARGUMENTS)['count_events']>, reader: TenantToolReader, now: Date): Promise<ToolOutcome> {
  const window = windowOf(args, now);
  if (typeof window === 'string') return refuse('invalid_arguments', window);
  const matches = seriesMatcher(args.kind, args.name);
  const rollups = (await reader.rollups(minuteOf(window.from.toISOString()), minuteOf(window.to.toISOString()))).filter((r) => matches(r.series));
  let count = 0;
  let errors4xx = 0;
  let errors5xx = 0;
  for (const r of rollups) {
    count += r.counters.count ?? 0;
    errors4xx += r.counters.errors4xx ?? 0;
    errors5xx += r.counters.errors5xx ?? 0;
  }
  const selected = args.status_class === '4xx' ? errors4xx : args.status_class === '5xx' ? errors5xx : args.status_class === 'success' ? count - errors4xx - errors5xx : count;
  const series = [...new Set(rollups.map((r) => r.series))];
  return {
    result: { kind: args.kind, name: args.name, status_class: args.status_class, from: window.from.toISOString(), to: window.to.toISOString(), count: selected, total: count, errors4xx, errors5xx },
    sources: series.slice(0, ROW_CAPS.series).map((s) => rollupSource(s, window.from, window.to)),
    ok: true,
  };
}

async function aggregateRollups(args: z.infer<(typeof ARGUMENTS)['aggregate_rollups']>, reader: TenantToolReader, now: Date): Promise<ToolOutcome> {
  const window = windowOf(args, now);
  if (typeof window === 'string') return refuse('invalid_arguments', window);
  const bucketMs = args.bucket_minutes * 60_000;
  const rollups = await reader.rollups(minuteOf(window.from.toISOString()), minuteOf(window.to.toISOString()), args.series ? clearQuerySeries(args.series) : undefined);
  const bucketed = mergeRollups(
    rollups.map((r) => {
      const start = Math.floor(Date.parse(r.minute) / bucketMs) * bucketMs;
      return { ...r, minute: minuteOf(new Date(start).toISOString()) };
    }),
  );
  const rows = bucketed.map(summariseRollup);
  return {
    result: { bucket_minutes: args.bucket_minutes, rows: rows.slice(0, ROW_CAPS.aggregate), truncated: rows.length > ROW_CAPS.aggregate },
    sources: [...new Set(rows.map((r) => r.series))].slice(0, ROW_CAPS.series).map((s) => rollupSource(s, window.from, window.to)),
    ok: true,
  };
}

const statusOf = (view: EventView): number | undefined => (typeof view.attributes.status === 'number' ? view.attributes.status : undefined);

async function sampleEvents(args: z.infer<(typeof ARGUMENTS)['sample_events']>, reader: TenantToolReader, now: Date): Promise<ToolOutcome> {
  const window = windowOf(args, now);
  if (typeof window === 'string') return refuse('invalid_arguments', window);
  const views = await reader.events({
    kind: args.kind,
    ...(args.name ? { name: args.name } : {}),
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    limit: args.status_class ? 100 : args.limit,
  });
  const wanted = views
    .filter((v) => {
      const status = statusOf(v);
      if (!args.status_class) return true;
      if (status === undefined) return false;
      return args.status_class === '5xx' ? status >= 500 : args.status_class === '4xx' ? status >= 400 && status < 500 : status < 400;
    })
    .slice(0, args.limit);
  const records = wanted.map((v) => ({ eventId: v.eventId, kind: v.kind, name: v.name, timestamp: v.timestamp, attributes: v.attributes, event: v.event }));
  return { result: { records }, sources: records.map((r) => `event:${r.eventId}`), ok: true };
}

async function listInsights(args: z.infer<(typeof ARGUMENTS)['list_insights']>, reader: TenantToolReader): Promise<ToolOutcome> {
  const insights = await reader.insights(args.limit);
  const rows = insights.map(({ tenantId: _t, expiresAt: _e, ...insight }) => insight);
  return { result: { insights: rows }, sources: rows.map((i) => `insight:${i.insightId}`), ok: true };
}
