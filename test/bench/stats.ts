/** Small statistics and timing helpers shared by the benchmark sections. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export interface Timed<T> {
  readonly result: T;
  readonly wallMs: number;
  /** User + system CPU of the whole process (GC helper threads included). */
  readonly cpuMs: number;
}

/** Wall and CPU time of one piece of work. */
export async function timed<T>(work: () => Promise<T> | T): Promise<Timed<T>> {
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  const result = await work();
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** CPU microseconds of each call, after `warmup` unmeasured calls (JIT, caches). */
export async function cpuMicrosPerCall(
  calls: number,
  warmup: number,
  call: (i: number) => Promise<unknown> | unknown,
  prepare: (i: number) => void = () => undefined,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    prepare(i);
    const start = process.cpuUsage();
    await call(i);
    const used = process.cpuUsage(start);
    if (i >= warmup) samples.push(used.user + used.system);
  }
  return samples;
}

export function chunk<T>(values: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < values.length; i += size) chunks.push(values.slice(i, i + size));
  return chunks;
}

export const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
