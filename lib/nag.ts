/**
 * cdk-nag 3 wiring. The packs run as CDK policy-validation plugins: an unacknowledged finding (error or
 * warning) fails `cdk synth`. Acknowledgements go through `acknowledge` so each one carries a reason.
 */
import * as cdk from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, NagPack, PCIDSS321Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The four packs the platform is held to (DESIGN.md, infrastructure tier). */
export function compliancePacks(scope?: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new NIST80053R5Checks(scope), new HIPAASecurityChecks(scope), new PCIDSS321Checks(scope)];
}

export function addCompliancePacks(app: cdk.App): void {
  cdk.Validations.of(app).addPlugins(...compliancePacks(app));
}

/** Shortest reason accepted: a reason says why the finding is right here, which takes a sentence. */
const MIN_REASON_LENGTH = 40;

/**
 * Acknowledges one cdk-nag finding on `scope` and everything below it. Use the plain rule id
 * (`AwsSolutions-S1`) or one finding of a multi-finding rule (`AwsSolutions-IAM5[Action::s3:List*]`).
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`Acknowledgement of ${id} on ${scope.node.path}: give a specific reason (why it is right here), at least ${MIN_REASON_LENGTH} characters`);
  }
  cdk.Validations.of(scope).acknowledge({ id, reason });
}
