#!/usr/bin/env node
/**
 * `npm start`: the whole platform on this machine, no AWS account, no Docker, no network (issue 3).
 *   npm start                            in memory
 *   npm start -- --data-dir .lumiqo      data kept between runs (or LUMIQO_DATA_DIR=.lumiqo)
 *   npm start -- --port 0                a free port (default 8787, or LUMIQO_PORT)
 */
import { parseArgs } from 'node:util';
import { banner } from './local/banner';
import { DEFAULT_PORT, localAiOptionsFromEnv, startLocalPlatform } from './local/platform';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('Usage: npm start -- [--data-dir <dir>] [--port <port>]\n  LUMIQO_DATA_DIR and LUMIQO_PORT work too.');
    return;
  }
  const port = Number(values.port ?? process.env.LUMIQO_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: a port number, got '${values.port}'`);
  const dataDir = values['data-dir'] ?? process.env.LUMIQO_DATA_DIR;

  const local = await startLocalPlatform({ port, ...(dataDir ? { dataDir } : {}), ai: localAiOptionsFromEnv(process.env) });
  console.log(banner(local));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    local.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
