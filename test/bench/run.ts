/**
 * `npm run bench` (issue 5): measures the platform against its physical limits on this machine and prints a
 * table; every figure stands beside a baseline measured in the same run. Writes `bench-results.json` (git-ignored).
 *
 *   npm run bench                 # every section
 *   npm run bench -- --only 1,5   # some sections (1 runs sections 1 and 2 together)
 *
 * Not part of `npm test`: no file here ends in .test.ts.
 */
import './environment';
import { join } from 'node:path';
import { bundlesSection } from './bundles';
import { dynamoSection } from './dynamo';
import { endToEndSection } from './end-to-end';
import { ingestSection } from './ingest';
import { processorSections } from './processor';
import { storeAdapterSection } from './store-adapter';
import { machineInfo, printTable, writeResults, type Figure, type SectionResult } from './report';
import { subjectRequestSection } from './subject-requests';
import { synthSection } from './synth';

interface Section {
  readonly id: string;
  readonly title: string;
  run(): Promise<{ figures: Figure[]; details: unknown; implications?: string[] } | { skipped: string }>;
}

/**
 * In the order they run. Section 8 last: its million-event corpus leaves this process with a heap of ~2 GB and ~9.5 GB
 * resident, and every CPU figure measured after it paid for that in garbage collection (section 9 at 1 and 10 tenants
 * read 0.075 and 0.061× after it, 0.106 and 0.110× alone, in runs of the same hour).
 */
const SECTIONS: readonly Section[] = [
  { id: '1', title: '1 processor + 2 KMS', run: processorSections },
  { id: '3', title: '3 DynamoDB', run: dynamoSection },
  { id: '4', title: '4 ingest', run: ingestSection },
  { id: '5', title: '5 bundles', run: bundlesSection },
  { id: '6', title: '6 end to end', run: endToEndSection },
  { id: '7', title: '7 cdk synth', run: synthSection },
  { id: '9', title: '9 store adapter', run: storeAdapterSection },
  { id: '8', title: '8 data-subject requests', run: subjectRequestSection },
];

function selectedSections(argv: readonly string[]): readonly Section[] {
  const at = argv.indexOf('--only');
  const only = at >= 0 ? argv[at + 1] : argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
  if (only === undefined) return SECTIONS;
  const ids = new Set(only.split(',').map((id) => (id.trim() === '2' ? '1' : id.trim())));
  const unknown = [...ids].filter((id) => !SECTIONS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.id).join(', ')}`);
  return SECTIONS.filter((s) => ids.has(s.id));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  console.log(`Lumiqo benchmark: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.os})\n`);
  const results: SectionResult[] = [];
  for (const section of selectedSections(process.argv.slice(2))) {
    const started = Date.now();
    process.stdout.write(`running ${section.title}… `);
    let result: SectionResult;
    try {
      const outcome = await section.run();
      const seconds = (Date.now() - started) / 1000;
      result = 'skipped' in outcome
        ? { section: section.title, seconds, figures: [], skipped: outcome.skipped }
        : { section: section.title, seconds, ...outcome };
    } catch (error) {
      result = { section: section.title, seconds: (Date.now() - started) / 1000, figures: [], error: (error as Error).message };
    }
    console.log(`${result.error ? 'FAILED' : result.skipped ? 'skipped' : 'done'} in ${result.seconds.toFixed(1)} s`);
    results.push(result);
  }
  console.log('');
  printTable(results);
  const implications = results.flatMap((r) => r.implications ?? []);
  if (implications.length > 0) console.log(`\nWhat it means for a deployment:\n${implications.map((line) => `- ${line}`).join('\n')}`);
  const file = join(__dirname, '..', '..', 'bench-results.json');
  await writeResults(file, startedAt, results);
  console.log(`\nWrote ${file} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s in all)`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
