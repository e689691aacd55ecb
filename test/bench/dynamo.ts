/**
 * Section 3: DynamoDB requests per 1,000 records. The processor runs with the real DynamoEventStore and, as it is
 * composed in Lambda, the real usage marks (R-BILL-2: one mark per stored event, in the BillingLedger table) over
 * dynalite (test/support/emulators.ts); a middleware on the document client counts every request by operation
 * and estimates the write request units DynamoDB would bill, from the items on the wire (table plus GSIs).
 */
import type { BuildMiddleware } from '@smithy/types';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoUsageMarks } from '../../lambdas/adapters/dynamo-usage-ledger';
import { MemoryPayloadStore, MemoryPrivacyRequestStore } from '../../lambdas/adapters/memory';
import { StreamProcessing } from '../../lambdas/domain/processing';
import { TABLES } from '../../lambdas/shared/tables';
import { createLedgerTable } from '../adapters/harness';
import { startEmulators } from '../support/emulators';
import { KINESIS_BATCH_SIZE, TENANT_COUNTS } from './processor';
import type { Figure } from './report';
import { chunk, median, round } from './stats';
import { createTenants, localControlPlane, streamRecords } from './workload';

const RECORDS = 1_000;
/** Issue 12's goal: at most 5,000 write units per 1,000 records. */
const GOAL_WRU_PER_1000 = 5_000;
const LIST_PAGE = 50;
const LIST_RUNS = 9;
/** DynamoDB on-demand list price (us-east-1): $0.625 per million write request units. */
const DOLLARS_PER_MILLION_WRU = 0.625;

/** dynalite's own implementation of DynamoDB's item-size rules (it ships no type declarations). */
const { itemSize } = require('dynalite/db') as { itemSize(item: Record<string, unknown>): number };

/** The BillingLedger table of this run (created here: the test emulators hold only the tenant tables). */
const LEDGER_TABLE = 'lumiqo-bench-BillingLedger';

interface RequestCounts {
  readonly requests: Record<string, number>;
  /** Write request units: 1 per started KB of each item written, in the table and in each GSI it appears in. */
  writeUnits: number;
  /** Of those, the usage marks' (BillingLedger table). */
  markUnits: number;
  /** Items put or deleted by BatchWriteItem, and keys read by BatchGetItem. */
  itemsWritten: number;
  keysRead: number;
}

type WireItem = Record<string, unknown>;
interface WireBody {
  RequestItems?: Record<string, ({ PutRequest?: { Item: WireItem }; DeleteRequest?: { Key: WireItem } } | { Keys?: WireItem[] })[] | { Keys?: WireItem[] }>;
}

const writeUnitsOf = (item: WireItem) => Math.max(1, Math.ceil(itemSize(item) / 1024));

/**
 * Write units of one put: the item in the table, plus, in every index whose key it carries, the index entry: the
 * table and index keys and the projected attributes (issue 12: INCLUDE, see tables.ts), or all of it (ALL). The
 * BillingLedger table has no index.
 */
function putWriteUnits(table: string, item: WireItem): number {
  const { partitionKey, sortKey, indexes } = TABLES.tenantData;
  let units = writeUnitsOf(item);
  if (table === LEDGER_TABLE) return units;
  for (const index of indexes) {
    if (!(index.partitionKey in item)) continue;
    const projected = index.projection
      ? Object.fromEntries([partitionKey, sortKey, index.partitionKey, index.sortKey, ...index.projection].filter((name) => name in item).map((name) => [name, item[name]]))
      : item;
    units += writeUnitsOf(projected);
  }
  return units;
}

function countingMiddleware<Input extends object, Output extends object>(counts: RequestCounts): BuildMiddleware<Input, Output> {
  return (next) => async (args) => {
    const request = args.request as { headers: Record<string, string>; body?: string | Uint8Array };
    const operation = (request.headers['x-amz-target'] ?? 'unknown').split('.').pop() ?? 'unknown';
    counts.requests[operation] = (counts.requests[operation] ?? 0) + 1;
    const raw = request.body ?? '{}';
    const body = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw)) as WireBody;
    if (operation === 'BatchWriteItem') {
      for (const [table, writes] of Object.entries(body.RequestItems ?? {}) as [string, { PutRequest?: { Item: WireItem } }[]][]) {
        for (const write of writes) {
          counts.itemsWritten++;
          const item = write.PutRequest?.Item;
          const units = item ? putWriteUnits(table, item) : 1;
          counts.writeUnits += units;
          if (table === LEDGER_TABLE) counts.markUnits += units;
        }
      }
    } else if (operation === 'BatchGetItem') {
      for (const table of Object.values(body.RequestItems ?? {}) as { Keys?: WireItem[] }[]) counts.keysRead += table.Keys?.length ?? 0;
    } else if (operation === 'UpdateItem') {
      // Rollup items hold a few counters: well under 1 KB.
      counts.writeUnits += 1;
    }
    return next(args);
  };
}

/** The list route's store reads for a page of LIST_PAGE api calls: requests by operation, median latency. */
async function listPageReads(db: ReturnType<typeof createDocumentClient>, table: string, tenantId: string) {
  const counts: RequestCounts = { requests: {}, writeUnits: 0, markUnits: 0, itemsWritten: 0, keysRead: 0 };
  const store = new DynamoEventStore(db, table);
  const samples: number[] = [];
  for (let run = 0; run <= LIST_RUNS; run++) {
    const name = 'benchListCounter';
    if (run === LIST_RUNS) db.middlewareStack.add(countingMiddleware(counts), { step: 'build', name });
    const started = performance.now();
    const page = await store.queryEvents({ tenantId, kind: 'api_call', limit: LIST_PAGE });
    if (run < LIST_RUNS) samples.push(performance.now() - started);
    else db.middlewareStack.remove(name);
    if (page.items.length === 0 || page.items.some((e) => !('inline' in e.body) && !('objectKey' in e.body))) throw new Error('list page without bodies');
  }
  const requests = Object.values(counts.requests).reduce((sum, n) => sum + n, 0);
  return { requests, byOperation: Object.entries(counts.requests).map(([op, n]) => `${op} ${n}`).join(', '), medianMs: median(samples) };
}

export async function dynamoSection(): Promise<{ figures: Figure[]; details: unknown; implications: string[] }> {
  const emulators = await startEmulators('lumiqo-bench');
  const plane = await localControlPlane();
  try {
    const db = createDocumentClient(emulators.clients);
    await createLedgerTable(db, LEDGER_TABLE);
    const tenantIds = await createTenants(plane, Math.max(...TENANT_COUNTS), 'bench-ddb');
    const figures: Figure[] = [];
    const details: Record<string, unknown>[] = [];
    const implications: string[] = [];
    for (const tenantCount of TENANT_COUNTS) {
      const counts: RequestCounts = { requests: {}, writeUnits: 0, markUnits: 0, itemsWritten: 0, keysRead: 0 };
      const middlewareName = `benchRequestCounter${tenantCount}`;
      db.middlewareStack.add(countingMiddleware(counts), { step: 'build', name: middlewareName });
      const processing = new StreamProcessing({
        directory: plane.directory,
        store: new DynamoEventStore(db, emulators.tables.tenantData),
        payloads: new MemoryPayloadStore(),
        crypto: plane.freshCrypto(),
        requests: new MemoryPrivacyRequestStore(),
        settings: plane.settings,
        clock: plane.clock,
        // As composeProcessor builds it (lambdas/processor/composition.ts): a fresh container's marks.
        usage: new DynamoUsageMarks(db, LEDGER_TABLE),
      });
      let stored = 0;
      for (const batch of chunk(streamRecords(RECORDS, tenantIds.slice(0, tenantCount)), KINESIS_BATCH_SIZE)) {
        const outcome = await processing.processBatch(batch);
        if (outcome.rejected.length + outcome.retry.length > 0) throw new Error(`DynamoDB run failed records: ${JSON.stringify(outcome)}`);
        stored += outcome.stored;
      }
      db.middlewareStack.remove(middlewareName);
      if (stored !== RECORDS) throw new Error(`stored ${stored} of ${RECORDS}`);

      const total = Object.values(counts.requests).reduce((sum, n) => sum + n, 0);
      const byOperation = Object.entries(counts.requests).map(([op, n]) => `${op} ${n}`).join(', ');
      const plural = tenantCount > 1 ? 's' : '';
      figures.push({
        section: '3 DynamoDB',
        name: `requests per 1,000 records, ${tenantCount} tenant${plural} (${byOperation})`,
        value: total,
        unit: 'requests',
        // One BatchWriteItem per 25 items is the floor for the items this run wrote.
        baseline: { name: 'BatchWriteItem floor for the items written', value: Math.ceil(counts.itemsWritten / 25) },
      });
      figures.push({
        section: '3 DynamoDB',
        name: `write request units per 1,000 records, ${tenantCount} tenant${plural} (table + 2 GSIs + usage marks)`,
        value: counts.writeUnits,
        note: `of which usage marks (R-BILL-2, BillingLedger) ${counts.markUnits}; without them ${counts.writeUnits - counts.markUnits}`,
        unit: 'WRU',
        baseline: { name: 'one WRU per record', value: RECORDS },
        goal: { text: `<= ${GOAL_WRU_PER_1000.toLocaleString('en-US')} WRU (issue 12)`, met: counts.writeUnits <= GOAL_WRU_PER_1000 },
      });
      const reads = await listPageReads(db, emulators.tables.tenantData, tenantIds[0]);
      figures.push({
        section: '3 DynamoDB',
        name: `list page of ${LIST_PAGE} events by kind, ${tenantCount} tenant${plural}: requests (${reads.byOperation}) and latency`,
        value: reads.requests,
        unit: 'requests',
        baseline: { name: 'one Query', value: 1 },
        note: `median ${round(reads.medianMs, 1)} ms over dynalite (${LIST_RUNS} runs); bodies read by key, the indexes hold none`,
      });
      details.push({ tenants: tenantCount, records: RECORDS, batchSize: KINESIS_BATCH_SIZE, ...counts });
      // Per 1,000 records measured, so per million events it is a thousand times as many.
      implications.push(
        `DynamoDB, ${tenantCount} tenant${plural} sharing batches of ${KINESIS_BATCH_SIZE}: ${round(total / 1000, 2)} million requests and ${round(counts.writeUnits / 1000, 2)} million WRU ` +
          `per million events (~$${round((counts.writeUnits / 1000) * DOLLARS_PER_MILLION_WRU, 2)} on demand at $${DOLLARS_PER_MILLION_WRU} per million WRU).`,
      );
    }
    return { figures, details, implications };
  } finally {
    await plane.close();
    await emulators.close();
  }
}
