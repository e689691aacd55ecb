/**
 * Section 5: each Lambda bundled as LumiqoFunction bundles it (esbuild: platform node, target node22, CommonJS,
 * minified, source map beside it, @aws-sdk/* external because the runtime ships it), its size, what it carries
 * (openai and stripe must stay out of ingest and processor), and its cold init: the time a fresh Node process
 * takes to require the bundle and build its handler on a first invocation that needs no network. Baseline: an
 * empty-handler bundle measured the same way.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Figure } from './report';
import { runChild } from './child';
import { median, round } from './stats';

const ROOT = join(__dirname, '..', '..');
const COLD_INIT_RUNS = 5;
/** Packages the data path must not load (issue 5): they belong to the billing and AI functions. */
const FORBIDDEN = ['openai', 'stripe'] as const;

interface BundleTarget {
  readonly name: string;
  readonly entry: string;
  /** A first event the handler answers without any network call, after building its platform. */
  readonly firstEvent: unknown;
  readonly mustExclude: readonly string[];
}

const TARGETS: readonly BundleTarget[] = [
  { name: 'ingest', entry: 'lambdas/ingest/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: FORBIDDEN },
  { name: 'processor', entry: 'lambdas/processor/handler.ts', firstEvent: { Records: [] }, mustExclude: FORBIDDEN },
  { name: 'query', entry: 'lambdas/query/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: [] },
  { name: 'admin', entry: 'lambdas/admin/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: [] },
  { name: 'privacy', entry: 'lambdas/privacy/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: FORBIDDEN },
  // A task the handler refuses at once (PermanentTaskError): loads everything, calls no AWS API.
  { name: 'privacy-tasks', entry: 'lambdas/privacy-tasks/handler.ts', firstEvent: { task: 'bench-cold-init' }, mustExclude: FORBIDDEN },
  { name: 'termination-tasks', entry: 'lambdas/termination-tasks/handler.ts', firstEvent: { task: 'bench-cold-init' }, mustExclude: FORBIDDEN },
];
const EMPTY: BundleTarget = { name: 'empty handler', entry: 'test/bench/fixtures/empty-handler.ts', firstEvent: {}, mustExclude: [] };

/** Loads the bundle, invokes the handler once, prints the nanoseconds both took. */
const COLD_INIT_SCRIPT = `
const start = process.hrtime.bigint();
const { handler } = require(process.argv[1]);
Promise.resolve(handler(JSON.parse(process.argv[2]), {})).catch(() => undefined).then(() => {
  process.stderr.write('\\nBENCH_INIT_NS=' + (process.hrtime.bigint() - start) + '\\n');
});
`;

interface Bundle {
  readonly file: string;
  readonly bytes: number;
  /** Packages under node_modules that esbuild put in the bundle. */
  readonly packages: string[];
}

async function bundle(target: BundleTarget, outDir: string): Promise<Bundle> {
  const file = join(outDir, target.name.replace(/\W+/g, '-'), 'index.js');
  const result = await build({
    entryPoints: [join(ROOT, target.entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    // The innermost node_modules names the package the file belongs to.
    if (match) packages.add(match[match.length - 1].replace(/^node_modules\/|\/$/g, ''));
  }
  return { file, bytes: (await stat(file)).size, packages: [...packages].sort() };
}

async function coldInitMs(target: BundleTarget, file: string): Promise<number[]> {
  const samples: number[] = [];
  for (let run = 0; run < COLD_INIT_RUNS; run++) {
    const { stderr } = await runChild(process.execPath, ['-e', COLD_INIT_SCRIPT, file, JSON.stringify(target.firstEvent)], {
      cwd: ROOT,
      env: {
        // The runtime provides @aws-sdk/*; here it comes from the project's node_modules.
        NODE_PATH: join(ROOT, 'node_modules'),
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LUMIQO_LOG_LEVEL: 'ERROR',
      },
      timeoutMs: 60_000,
    });
    const ns = stderr.match(/BENCH_INIT_NS=(\d+)/)?.[1];
    if (!ns) throw new Error(`${target.name}: cold init printed no timing: ${stderr.slice(-300)}`);
    samples.push(Number(ns) / 1e6);
  }
  return samples;
}

export async function bundlesSection(): Promise<{ figures: Figure[]; details: unknown }> {
  const outDir = await mkdtemp(join(tmpdir(), 'lumiqo-bench-bundles-'));
  try {
    const empty = await bundle(EMPTY, outDir);
    const emptyInit = median(await coldInitMs(EMPTY, empty.file));
    const figures: Figure[] = [];
    const details: Record<string, unknown>[] = [{ name: EMPTY.name, bytes: empty.bytes, coldInitMs: emptyInit }];
    for (const target of TARGETS) {
      const built = await bundle(target, outDir);
      const initSamples = await coldInitMs(target, built.file);
      const carried = target.mustExclude.filter((name) => built.packages.includes(name));
      figures.push({
        section: '5 bundles',
        name: `${target.name} bundle size`,
        value: round(built.bytes / 1024, 1),
        unit: 'KiB',
        baseline: { name: 'empty handler', value: round(empty.bytes / 1024, 2) },
        ...(target.mustExclude.length > 0
          ? { goal: { text: `carries none of ${target.mustExclude.join(', ')}`, met: carried.length === 0 } }
          : {}),
        note: `packages: ${built.packages.join(', ') || 'none'}`,
      });
      figures.push({
        section: '5 bundles',
        name: `${target.name} cold init (require + first invocation, median of ${COLD_INIT_RUNS})`,
        value: round(median(initSamples), 1),
        unit: 'ms',
        baseline: { name: 'empty handler', value: round(emptyInit, 1) },
      });
      details.push({ name: target.name, bytes: built.bytes, packages: built.packages, carriesForbidden: carried, coldInitMs: initSamples });
    }
    return { figures, details };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
