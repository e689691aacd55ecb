/**
 * What every section returns, how the table is printed, and the JSON written to `bench-results.json`.
 * Each figure stands beside a baseline measured in the same run: only the ratio travels between machines.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem, type as osType, release } from 'node:os';

export interface Figure {
  /** `1 processor`, `5 bundles`… */
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Measured in the same run, the same way. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** The goal for this figure, and whether this run met it. */
  readonly goal?: { readonly text: string; readonly met: boolean };
  readonly note?: string;
}

export interface SectionResult {
  readonly section: string;
  readonly seconds: number;
  readonly figures: readonly Figure[];
  /** Raw measurements worth keeping (counts by command, samples…). */
  readonly details?: unknown;
  /** What the figures mean for a deployment, in a sentence each. */
  readonly implications?: readonly string[];
  readonly error?: string;
  readonly skipped?: string;
}

export function machineInfo() {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    arch: process.arch,
    node: process.version,
  };
}

export const ratio = (figure: Figure): number | undefined =>
  figure.baseline && figure.baseline.value !== 0 ? figure.value / figure.baseline.value : undefined;

const formatNumber = (value: number): string =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : Number(value.toPrecision(3)).toString();

export function printTable(results: readonly SectionResult[]): void {
  const rows: string[][] = [['section', 'measurement', 'value', 'baseline', 'ratio', 'goal']];
  for (const result of results) {
    if (result.error || result.skipped) {
      rows.push([result.section, result.error ? `FAILED: ${result.error}` : `not run: ${result.skipped}`, '', '', '', '']);
      continue;
    }
    for (const figure of result.figures) {
      const r = ratio(figure);
      rows.push([
        figure.section,
        figure.name,
        `${formatNumber(figure.value)} ${figure.unit}`,
        figure.baseline ? `${formatNumber(figure.baseline.value)} (${figure.baseline.name})` : '',
        r === undefined ? '' : `${formatNumber(r)}x`,
        figure.goal ? `${figure.goal.met ? 'met' : 'MISSED'}: ${figure.goal.text}` : '',
      ]);
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join(' | ').trimEnd();
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows.slice(1)) console.log(line(row));
}

export async function writeResults(path: string, startedAt: Date, results: readonly SectionResult[]): Promise<void> {
  const document = {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: machineInfo(),
    sections: results.map((result) => ({
      ...result,
      figures: result.figures.map((figure) => ({ ...figure, ratio: ratio(figure) })),
    })),
  };
  await writeFile(path, `${JSON.stringify(document, null, 2)}\n`);
}
