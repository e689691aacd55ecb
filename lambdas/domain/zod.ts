/**
 * The zod of every Lambda bundle: zod/mini with its English messages, and nothing else of zod. Issue 9: zod's
 * classic entry brought 444 KB into each bundle (258 KB of it every locale it ships); the same schemas in zod/mini
 * with one locale come to 29-38 KB a bundle. zod/mini loads no locale by itself, so an issue's message would read
 * "Invalid input" whatever failed; the error answers quote these messages (`details[].message`, built in
 * validation.ts and events.ts), and the settings check at a cold start names them. Every schema under lambdas/
 * takes `z` from here (`import * as z from '../domain/zod'`; test/infra/bundles.test.ts holds to it), so no
 * schema runs before the locale is set. `import * as` and named exports, never zod's `z` object: esbuild keeps
 * every member of an object, so `import { z } from 'zod/mini'` would bundle every locale again.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
