/** Shared helpers of the infrastructure tests: a test app, configs, and cdk-nag findings of one stack. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { parseConfig, stackPrefix, type LumiqoConfig } from '../../lib/config';
import { compliancePacks } from '../../lib/nag';
import { DataStack } from '../../lib/stacks/data-stack';

/** The feature flags of cdk.json, so that tests synthesize what `cdk synth` does. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context ?? {};

/** An app with the project's feature flags that skips asset bundling (TOOLCHAIN.md). */
export function testApp(): cdk.App {
  return new cdk.App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
}

/** A validated config from partial raw values, exactly as `cdk synth` would build it. */
export function testConfig(raw: Record<string, unknown> = {}): LumiqoConfig {
  return parseConfig(raw);
}

export const SINGLE_TENANT = { tenancy: 'single', tenant: 'acme' } as const;

/** A data stack in its own test app, named as lib/app.ts names it. */
export function synthDataStack(config: LumiqoConfig = testConfig(), app: cdk.App = testApp()): DataStack {
  return new DataStack(app, `${stackPrefix(config)}-Data`, { config, env: { account: '111111111111', region: 'eu-west-1' } });
}

export interface NagFinding {
  readonly pack: string;
  /** Rule id as acknowledged, e.g. `AwsSolutions-S1` or `AwsSolutions-IAM5[Action::s3:List*]`. */
  readonly ruleName: string;
  /** Construct path of the violating resource. */
  readonly resource: string;
}

/**
 * Every unacknowledged finding of the four packs on `scope`. The app is synthesized first so that the
 * packs see what `cdk synth` shows them (cross-stack references resolved, aspects applied).
 */
export function nagFindings(scope: IConstruct): NagFinding[] {
  cdk.Stage.of(scope)?.synth();
  return compliancePacks().flatMap((pack) =>
    pack.validateScope(scope).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({ pack: pack.readPackName, ruleName: violation.ruleName, resource: resource.constructPath ?? '(unknown)' })),
    ),
  );
}
