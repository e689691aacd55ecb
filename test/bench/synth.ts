/**
 * Section 7: wall time of `cdk synth` for the Lumiqo app (which also bundles the seven functions with esbuild),
 * beside the same CLI synthesizing an app with one empty stack.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './report';
import { runChild } from './child';
import { round } from './stats';

const ROOT = join(__dirname, '..', '..');
/** Offline: no instance-metadata probe for credentials, no notices fetched. */
const OFFLINE_ENV = { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

async function synthSeconds(extraArgs: readonly string[]): Promise<number> {
  const outDir = await mkdtemp(join(tmpdir(), 'lumiqo-bench-synth-'));
  try {
    const { wallMs } = await runChild('npx', ['cdk', 'synth', '-q', '--no-notices', '-o', outDir, ...extraArgs], { cwd: ROOT, env: OFFLINE_ENV, timeoutMs: 240_000 });
    return wallMs / 1000;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

export async function synthSection(): Promise<{ figures: Figure[]; details: unknown }> {
  const empty = await synthSeconds(['--app', 'npx tsx test/bench/fixtures/empty-app.ts']);
  const lumiqo = await synthSeconds([]);
  return {
    figures: [
      {
        section: '7 cdk synth',
        name: '`cdk synth` of the Lumiqo app (two stacks, seven bundled functions, six state machines, cdk-nag packs)',
        value: round(lumiqo, 1),
        unit: 's',
        baseline: { name: 'same CLI, one empty stack', value: round(empty, 1) },
      },
    ],
    details: { lumiqoSeconds: lumiqo, emptyAppSeconds: empty },
  };
}
