/** Runs a command in a child process and measures its wall time; throws with the output's tail on failure. */
import { spawn } from 'node:child_process';

export interface ChildRun {
  readonly wallMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runChild(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ChildRun> {
  // `npm run bench` runs under `npx -p node@22`, which leaves its own invocation in the environment: a child's `npx`
  // would read it as its own and refuse its arguments.
  const { npm_config_call: _call, npm_config_package: _package, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: options.cwd, env: { ...inherited, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve({ wallMs, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}: ${(stderr || stdout).trim().split('\n').slice(-5).join(' / ')}`));
    });
  });
}
