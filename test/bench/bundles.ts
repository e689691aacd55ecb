/**
 * Issue 12: the Encryption SDK is no part of any handler's bundle but a chunk beside it (LEGACY_CHUNK), built here
 * as LumiqoFunction's hook builds it; the chunk's size is its own figure. Ingest and processor: at most 150 KB.
 *
 * Section 5: each Lambda bundled as LumiqoFunction bundles it (esbuild: platform node, target node22, CommonJS,
 * minified, source map beside it, @aws-sdk/* external because the runtime ships it), its size, what it carries
 * (openai and stripe must stay out of ingest and processor), and its cold init: the time a fresh Node process
 * takes to require the bundle and compose its handler from its synthesized environment on a first invocation that
 * needs no network. Baselines, measured the same way in the same run: an empty handler, and per function a handler
 * that only loads the same AWS SDK packages and builds one client of each (issue 9: loading the DynamoDB client
 * alone costs ~15× an empty handler, so the empty handler alone is no fair baseline).
 */
import { execSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { build } from 'esbuild';
import type { LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { localDeployment } from '../../bin/local/schema';
import { BUNDLE_ALIASES, LEGACY_CHUNK, legacyChunkCommand } from '../../lib/constructs/lumiqo-function';
import type { Figure } from './report';
import { runChild } from './child';
import { median, round } from './stats';

const ROOT = join(__dirname, '..', '..');
/** Odd, for a true median; more than before (5), as the SDK-only baselines are short and noisy. */
const COLD_INIT_RUNS = 9;
/** Packages the data path must not load (issue 5): they belong to the billing and AI functions. */
const FORBIDDEN = ['openai', 'stripe'] as const;
/** Issue 9's goals: bundle size, and cold init against the same-SDK baseline. */
const MAX_BUNDLE_KB = 600;
/** Issue 12: the data path's bundles, without the Encryption SDK (a chunk of its own beside them). */
const MAX_HOT_BUNDLE_KB: Partial<Record<string, number>> = { ingest: 150, processor: 150 };
const MAX_INIT_RATIO = 1.5;

interface BundleTarget {
  readonly name: string;
  /** The function whose synthesized environment the cold start composes from. */
  readonly fn?: LumiqoFunctionName;
  readonly entry: string;
  /** A first event the handler answers without any network call, after building its platform. */
  readonly firstEvent: unknown;
  readonly mustExclude: readonly string[];
  /** Issue 13: the AI function's own bound (the openai SDK's client carries every resource; test/infra/bundles.test.ts). @default MAX_BUNDLE_KB */
  readonly maxKb?: number;
  /** Variables beyond the synthesized environment (the AI function: a provider endpoint, so its client is built). */
  readonly extraEnvironment?: Readonly<Record<string, string>>;
}

const TARGETS: readonly BundleTarget[] = [
  { name: 'ingest', fn: 'ingest', entry: 'lambdas/ingest/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: FORBIDDEN },
  { name: 'processor', fn: 'processor', entry: 'lambdas/processor/handler.ts', firstEvent: { Records: [] }, mustExclude: FORBIDDEN },
  { name: 'query', fn: 'query', entry: 'lambdas/query/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: [] },
  { name: 'admin', fn: 'admin', entry: 'lambdas/admin/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: [] },
  { name: 'privacy', fn: 'privacy', entry: 'lambdas/privacy/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: FORBIDDEN },
  // A task the handler refuses at once (PermanentTaskError): loads everything, calls no AWS API.
  { name: 'privacy-tasks', fn: 'privacy-tasks', entry: 'lambdas/privacy-tasks/handler.ts', firstEvent: { task: 'bench-cold-init' }, mustExclude: FORBIDDEN },
  { name: 'termination-tasks', fn: 'termination-tasks', entry: 'lambdas/termination-tasks/handler.ts', firstEvent: { task: 'bench-cold-init' }, mustExclude: FORBIDDEN },
  // Issue 13: a request without an API key is refused before any call; the provider client is built at composition.
  {
    name: 'ai', fn: 'ai', entry: 'lambdas/ai/handler.ts', firstEvent: { resource: '/bench/cold-init', headers: {}, body: null }, mustExclude: ['stripe'],
    maxKb: 950, extraEnvironment: { LUMIQO_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
  },
  // What the first question adds: the openai SDK, loaded only then, and its client.
  { name: 'ai first question (openai SDK load)', entry: 'test/bench/fixtures/openai-first-question.ts', firstEvent: {}, mustExclude: ['stripe'], maxKb: 950 },
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
  /** External packages the bundle requires (the runtime's AWS SDK). */
  readonly externals: string[];
}

async function bundle(target: BundleTarget, outDir: string): Promise<Bundle> {
  const file = join(outDir, target.name.replace(/\W+/g, '-'), 'index.js');
  const result = await build({
    entryPoints: [isAbsolute(target.entry) ? target.entry : join(ROOT, target.entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    external: ['@aws-sdk/*', LEGACY_CHUNK.specifier],
    alias: { ...BUNDLE_ALIASES },
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  // As LumiqoFunction's hook does: the legacy chunk beside a bundle that requires it.
  const needsChunk = Object.values(result.metafile.outputs).some((output) => output.imports.some((i) => i.path === LEGACY_CHUNK.specifier));
  if (needsChunk) execSync(legacyChunkCommand(dirname(file)), { stdio: 'pipe' });
  const packages = new Set<string>();
  const externals = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) externals.add(imported.path);
  }
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    // The innermost node_modules names the package the file belongs to.
    if (match) packages.add(match[match.length - 1].replace(/^node_modules\/|\/$/g, ''));
  }
  return { file, bytes: (await stat(file)).size, packages: [...packages].sort(), externals: [...externals].sort() };
}

/**
 * The baseline of one function: a handler that requires the same external AWS SDK packages as its bundle and
 * constructs one client of each `@aws-sdk/client-*` package, and does nothing else.
 */
async function sdkBaseline(target: BundleTarget, externals: readonly string[], outDir: string): Promise<BundleTarget> {
  const lines = externals.filter((pkg) => !pkg.startsWith('.')).map((pkg, i) => {
    const load = `const m${i} = require(${JSON.stringify(pkg)});`;
    if (!pkg.startsWith('@aws-sdk/client-')) return load;
    return `${load} { const C = Object.values(m${i}).find((v) => typeof v === 'function' && /Client$/.test(v.name) && v.name !== 'Client'); if (C) new C({}); }`;
  });
  const entry = join(outDir, `${target.name}-sdk-baseline.js`);
  await writeFile(entry, `${lines.join('\n')}\nexports.handler = async () => ({});\n`);
  return { name: `${target.name} SDK-only handler`, entry, firstEvent: {}, mustExclude: [] };
}

async function coldInitMs(target: BundleTarget, file: string, environment: Readonly<Record<string, string>> = {}): Promise<number[]> {
  const samples: number[] = [];
  for (let run = 0; run < COLD_INIT_RUNS; run++) {
    const { stderr } = await runChild(process.execPath, ['-e', COLD_INIT_SCRIPT, file, JSON.stringify(target.firstEvent)], {
      cwd: ROOT,
      env: {
        ...environment,
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
    // Each function composes from the environment CDK synthesized for it (names, keyring), as in Lambda.
    const { functions } = localDeployment();
    const figures: Figure[] = [];
    const details: Record<string, unknown>[] = [{ name: EMPTY.name, bytes: empty.bytes, coldInitMs: emptyInit }];
    let chunkBytes: number | undefined;
    for (const target of TARGETS) {
      const built = await bundle(target, outDir);
      chunkBytes ??= await stat(join(dirname(built.file), LEGACY_CHUNK.file)).then((s) => s.size, () => undefined);
      const initSamples = await coldInitMs(target, built.file, { ...(target.fn ? functions[target.fn].environment : {}), ...target.extraEnvironment });
      const maxKb = target.maxKb ?? MAX_HOT_BUNDLE_KB[target.name] ?? MAX_BUNDLE_KB;
      const baselineTarget = await sdkBaseline(target, built.externals, outDir);
      const baselineBundle = await bundle(baselineTarget, outDir);
      const baselineInit = median(await coldInitMs(baselineTarget, baselineBundle.file));
      const initRatio = median(initSamples) / baselineInit;
      const carried = target.mustExclude.filter((name) => built.packages.includes(name));
      figures.push({
        section: '5 bundles',
        name: `${target.name} bundle size`,
        value: round(built.bytes / 1024, 1),
        unit: 'KiB',
        baseline: { name: 'empty handler', value: round(empty.bytes / 1024, 2) },
        goal: {
          text: `≤ ${maxKb} KB${target.mustExclude.length > 0 ? `, carries none of ${target.mustExclude.join(', ')}` : ''}`,
          met: built.bytes <= maxKb * 1000 && carried.length === 0,
        },
        note: `packages: ${built.packages.join(', ') || 'none'}`,
      });
      figures.push({
        section: '5 bundles',
        name: `${target.name} cold init (require + first invocation, median of ${COLD_INIT_RUNS})`,
        value: round(median(initSamples), 1),
        unit: 'ms',
        baseline: { name: `SDK-only handler (${built.externals.filter((p) => p.startsWith('@aws-sdk/')).join(', ')})`, value: round(baselineInit, 1) },
        goal: { text: `≤ ${MAX_INIT_RATIO}× the SDK-only handler (now ${round(initRatio, 2)}×; empty handler ${round(emptyInit, 1)} ms)`, met: initRatio <= MAX_INIT_RATIO },
      });
      details.push({
        name: target.name,
        bytes: built.bytes,
        packages: built.packages,
        externals: built.externals,
        carriesForbidden: carried,
        coldInitMs: initSamples,
        sdkBaselineMs: baselineInit,
        initRatio,
      });
    }
    if (chunkBytes !== undefined) {
      figures.push({
        section: '5 bundles',
        name: `${LEGACY_CHUNK.file} (Encryption SDK, old-format records only; beside each handler, loaded on first use)`,
        value: round(chunkBytes / 1024, 1),
        unit: 'KiB',
        baseline: { name: 'empty handler', value: round(empty.bytes / 1024, 2) },
      });
    }
    return { figures, details };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
