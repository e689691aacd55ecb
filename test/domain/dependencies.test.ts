/**
 * The domain (lambdas/domain) is the pure core: it depends on nothing of the runtime around it, neither the
 * functions' plumbing (lambdas/shared), nor the adapters, nor the AWS SDK, nor CDK. The dependency runs one way:
 * shared and adapters import the domain, never the reverse. Every module specifier of every file is read with
 * TypeScript's own pre-processor (static and dynamic imports, re-exports, `require`, type-only imports alike).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const DOMAIN = path.join(__dirname, '..', '..', 'lambdas', 'domain');
/** Packages of the runtime around the domain; `#…` is package.json's alias of lambdas/shared. */
const FORBIDDEN_PACKAGES = [/^@aws-sdk\//, /^@smithy\//, /^aws-cdk-lib(\/|$)/, /^constructs$/, /^#/];

/** The specifiers of `source` (a file at `file`) that leave the domain. */
function outsideImports(file: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) =>
      specifier.startsWith('.')
        ? path.relative(DOMAIN, path.resolve(path.dirname(file), specifier)).startsWith('..')
        : FORBIDDEN_PACKAGES.some((pattern) => pattern.test(specifier)),
    );
}

const domainFiles = (fs.readdirSync(DOMAIN, { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => file.endsWith('.ts'))
  .map((file) => path.join(DOMAIN, file));

test('no file of lambdas/domain imports lambdas/shared, the adapters, the AWS SDK or CDK', () => {
  const offending = domainFiles.flatMap((file) =>
    outsideImports(file, fs.readFileSync(file, 'utf8')).map((specifier) => `${path.relative(DOMAIN, file)}: ${specifier}`),
  );
  expect(domainFiles.length).toBeGreaterThan(20);
  expect(offending).toEqual([]);
});

test('the rule sees every way out of the domain', () => {
  const file = path.join(DOMAIN, 'subject-requests', 'example.ts');
  const source = [
    "import { objectKeys } from '../../shared/keys';",
    "import type { RuntimeSettings } from '../../shared/settings';",
    "export { DynamoEventStore } from '../../adapters/dynamo-event-store';",
    "import { KMSClient } from '@aws-sdk/client-kms';",
    "import * as cdk from 'aws-cdk-lib';",
    "import { Duration } from 'aws-cdk-lib/core';",
    "import { ENV } from '#shared/settings';",
    "const lazy = () => import('../../shared/tables');",
    "const required = require('../../../lib/config');",
    // Within the domain, and packages of its own: allowed.
    "import { keyNames } from '../keys';",
    "import { hashSubject } from '../subjects';",
    "import { createHash } from 'node:crypto';",
    "import * as z from '../zod';",
  ].join('\n');
  expect(outsideImports(file, source)).toEqual([
    '../../shared/keys',
    '../../shared/settings',
    '../../adapters/dynamo-event-store',
    '@aws-sdk/client-kms',
    'aws-cdk-lib',
    'aws-cdk-lib/core',
    '#shared/settings',
    '../../shared/tables',
    '../../../lib/config',
  ]);
});
