/**
 * Sections 1 and 2: the processor's CPU path and its KMS calls.
 *
 * Records go through the real StreamProcessing.processBatch (parse, validate, subject extraction, envelope
 * encryption with the real EnvelopeTenantCrypto, idempotency gate, writes, rollups) over in-memory stores,
 * in batches of the Kinesis event source's size. Each run starts a new processor with cold caches, as a fresh
 * Lambda container would. The baseline is the physical limit: JSON.parse plus AES-256-GCM of the same bytes.
 */
import { PROCESSOR_MEMORY_MB } from '../../lib/stacks/services-stack';
import { createCipheriv, randomBytes } from 'node:crypto';
import { parseConfig } from '../../lib/config';
import { MemoryEventStore, MemoryPayloadStore, MemoryPrivacyRequestStore } from '../../lambdas/adapters/memory';
import { StreamProcessing, type InputRecord } from '../../lambdas/domain/processing';
import { FakeKms } from './fake-kms';
import type { Figure } from './report';
import { chunk, round, timed } from './stats';
import { createTenants, kmsControlPlane, localControlPlane, meanBytes, streamRecords, type ControlPlane } from './workload';

/** The event source's batch size as a default deployment configures it (lib/config.ts). */
export const KINESIS_BATCH_SIZE = parseConfig({}).processor.batchSize;
export const TENANT_COUNTS = [1, 10, 100] as const;
const RECORDS = 10_000;
/** Each throughput is the median of this many cold runs: single runs on a shared machine vary by ±20%. */
const REPEATS = 3;
/** Issue 5: five Kinesis shards at their 1,000 records/s each. */
const GOAL_RECORDS_PER_SECOND = 5_000;
const SHARD_RECORDS_PER_SECOND = 1_000;
/** Lambda gives one vCPU at 1,769 MB and scales CPU with memory; the processor is deployed with PROCESSOR_MEMORY_MB. */
const PROCESSOR_VCPU = PROCESSOR_MEMORY_MB / 1_769;
/** KMS list price: $0.03 per 10,000 requests. */
const KMS_DOLLARS_PER_REQUEST = 0.03 / 10_000;

export interface ProcessorRun {
  readonly records: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly stored: number;
}

/** One cold processor over `records`; throws if any record is not stored (a benchmark of failures is no benchmark). */
export async function runProcessor(
  plane: ControlPlane,
  records: readonly InputRecord[],
  afterBatch: (index: number) => void = () => undefined,
): Promise<ProcessorRun> {
  const processing = new StreamProcessing({
    directory: plane.directory,
    store: new MemoryEventStore(),
    payloads: new MemoryPayloadStore(),
    crypto: plane.freshCrypto(),
    requests: new MemoryPrivacyRequestStore(),
    settings: plane.settings,
    clock: plane.clock,
  });
  const { result: stored, wallMs, cpuMs } = await timed(async () => {
    let total = 0;
    for (const [index, batch] of chunk(records, KINESIS_BATCH_SIZE).entries()) {
      const outcome = await processing.processBatch(batch);
      afterBatch(index);
      if (outcome.rejected.length > 0 || outcome.retry.length > 0) {
        throw new Error(`processor rejected ${outcome.rejected.length} and retried ${outcome.retry.length} records: ${JSON.stringify(outcome.rejected[0] ?? outcome.retry[0])}`);
      }
      total += outcome.stored;
    }
    return total;
  });
  if (stored !== records.length) throw new Error(`processor stored ${stored} of ${records.length} records`);
  return { records: records.length, wallMs, cpuMs, stored };
}

/** The physical limit: parse each record and AES-256-GCM-encrypt its bytes with a fresh IV. */
export async function runBaseline(records: readonly InputRecord[]): Promise<ProcessorRun> {
  const key = randomBytes(32);
  const { wallMs, cpuMs, result } = await timed(() => {
    let bytes = 0;
    for (const record of records) {
      JSON.parse(Buffer.from(record.data).toString('utf8'));
      const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
      bytes += cipher.update(record.data).byteLength + cipher.final().byteLength + cipher.getAuthTag().byteLength;
    }
    return bytes;
  });
  if (result < meanBytes(records) * records.length) throw new Error('baseline encrypted less than it was given');
  return { records: records.length, wallMs, cpuMs, stored: records.length };
}

const perSecond = (run: ProcessorRun) => run.records / (run.wallMs / 1000);
const perCpuSecond = (run: ProcessorRun) => run.records / (run.cpuMs / 1000);

/** The run of median throughput among `first` and REPEATS - 1 more. */
async function medianRun(first: ProcessorRun, again: () => Promise<ProcessorRun>): Promise<ProcessorRun> {
  const runs = [first];
  while (runs.length < REPEATS) runs.push(await again());
  return runs.sort((a, b) => perSecond(a) - perSecond(b))[Math.floor(runs.length / 2)];
}

export async function processorSections(): Promise<{ figures: Figure[]; details: unknown; implications: string[] }> {
  const local = await localControlPlane();
  const kms = new FakeKms();
  const viaKms = kmsControlPlane(kms);
  try {
    const tenants = {
      local: await createTenants(local, Math.max(...TENANT_COUNTS), 'bench-local'),
      kms: await createTenants(viaKms, Math.max(...TENANT_COUNTS), 'bench-kms'),
    };
    // JIT warm-up on a throwaway run, so the first measured configuration is not penalised.
    await runProcessor(local, streamRecords(2_000, tenants.local.slice(0, 10)));
    await runBaseline(streamRecords(2_000, tenants.local.slice(0, 1)));

    const figures: Figure[] = [];
    const details: Record<string, unknown>[] = [];
    const kmsRates: number[] = [];
    const kmsCallsPer10k: number[] = [];
    for (const tenantCount of TENANT_COUNTS) {
      const localRecords = streamRecords(RECORDS, tenants.local.slice(0, tenantCount));
      const kmsRecords = streamRecords(RECORDS, tenants.kms.slice(0, tenantCount));
      const baseline = await medianRun(await runBaseline(localRecords), () => runBaseline(localRecords));
      const viaLocal = await medianRun(await runProcessor(local, localRecords), () => runProcessor(local, localRecords));
      // KMS calls are counted on the first cold run.
      kms.resetCounts();
      let firstBatchCalls = kms.counts();
      const firstKmsRun = await runProcessor(viaKms, kmsRecords, (index) => {
        if (index === 0) firstBatchCalls = kms.counts();
      });
      const kmsCalls = kms.counts();
      const viaKmsRun = await medianRun(firstKmsRun, () => runProcessor(viaKms, kmsRecords));
      kmsRates.push(perSecond(viaKmsRun));
      kmsCallsPer10k.push(((kmsCalls.generateDataKey + kmsCalls.decrypt) * 10_000) / RECORDS);

      const baselineFigure = { name: 'node:crypto AES-256-GCM + JSON.parse', value: round(perSecond(baseline)) };
      for (const [keyring, run] of [['local AES keyring', viaLocal], ['KMS keyring', viaKmsRun]] as const) {
        const rate = perSecond(run);
        figures.push({
          section: '1 processor',
          name: `records/s, ${keyring}, ${tenantCount} tenant${tenantCount > 1 ? 's' : ''} (median of ${REPEATS})`,
          value: round(rate),
          unit: 'rec/s',
          baseline: baselineFigure,
          goal: { text: `>= ${GOAL_RECORDS_PER_SECOND.toLocaleString('en-US')} rec/s on one core`, met: rate >= GOAL_RECORDS_PER_SECOND },
          note: `${round(perCpuSecond(run))} records per CPU-second`,
        });
      }
      const perTenThousand = (calls: number) => round((calls * 10_000) / RECORDS, 1);
      const plural = tenantCount > 1 ? 's' : '';
      figures.push({
        section: '2 KMS',
        name: `KMS calls per 10,000 records, ${tenantCount} tenant${plural} (GenerateDataKey ${perTenThousand(kmsCalls.generateDataKey)}, Decrypt ${perTenThousand(kmsCalls.decrypt)})`,
        value: perTenThousand(kmsCalls.generateDataKey + kmsCalls.decrypt),
        unit: 'calls',
        baseline: { name: 'one call per tenant', value: tenantCount },
        // Per cache period a tenant needs one data key (GenerateDataKey) and its subject key (Decrypt).
        goal: { text: '<= 2 per tenant per cache period', met: kmsCalls.generateDataKey <= tenantCount && kmsCalls.decrypt <= tenantCount },
        note: `${firstBatchCalls.generateDataKey} GenerateDataKey in the first batch of a cold processor`,
      });
      details.push({
        tenants: tenantCount,
        records: RECORDS,
        batchSize: KINESIS_BATCH_SIZE,
        meanRecordBytes: round(meanBytes(localRecords)),
        baseline,
        local: viaLocal,
        kms: { ...viaKmsRun, calls: kmsCalls, firstBatchCalls },
      });
    }
    const slowest = Math.min(...kmsRates);
    const implications = [
      `Processor (batches of ${KINESIS_BATCH_SIZE}): ${round(slowest)} records/s on one core of this machine (KMS keyring, slowest tenant mix) = ` +
        `${round(slowest / SHARD_RECORDS_PER_SECOND, 1)} Kinesis shards at ${SHARD_RECORDS_PER_SECOND.toLocaleString('en-US')} records/s each. ` +
        `The processor is deployed with ${PROCESSOR_MEMORY_MB} MB (${round(PROCESSOR_VCPU, 2)} vCPU), i.e. ~${round((slowest * PROCESSOR_VCPU) / SHARD_RECORDS_PER_SECOND, 1)} ` +
        `saturated shards per processor; one runs per shard, so it keeps up with a full shard with room to spare.`,
      `KMS: a cold processor made ${round(Math.max(...kmsCallsPer10k))} calls per 10,000 records at most; if every 10,000 records met a cold ` +
        `container that is $${round(Math.max(...kmsCallsPer10k) * 100 * KMS_DOLLARS_PER_REQUEST, 3)} per million events. Warm, a container ` +
        `asks once per tenant per 5-minute cache period (GenerateDataKey + Decrypt): $${round(2 * 288 * 30 * KMS_DOLLARS_PER_REQUEST, 2)} per tenant, per shard, per month.`,
    ];
    return { figures, details, implications };
  } finally {
    kms.restore();
    await local.close();
  }
}
