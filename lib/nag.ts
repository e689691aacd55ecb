/**
 * cdk-nag 3 wiring. The packs run as CDK policy-validation plugins: an unacknowledged finding (error or
 * warning) fails `cdk synth`. Acknowledgements go through `acknowledge` so each one carries a reason.
 */
import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, NagPack, PCIDSS321Checks } from 'cdk-nag';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** The four packs the platform is held to (DESIGN.md, infrastructure tier). */
export function compliancePacks(scope?: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new NIST80053R5Checks(scope), new HIPAASecurityChecks(scope), new PCIDSS321Checks(scope)];
}

/**
 * The rule-id prefixes of the three control-framework packs (`NIST.800.53.R5`, `HIPAA.Security`, `PCI.DSS.321`),
 * whose rules share names, so one reason acknowledges `<pack>-<rule>` in each; AwsSolutions names its rules its own way.
 */
export const CONTROL_PACKS: readonly string[] = compliancePacks()
  .filter((pack) => !(pack instanceof AwsSolutionsChecks))
  .map((pack) => pack.readPackName);

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

/** How cdk-nag names a resource in a finding id (`<LogicalId.Arn>`, `arn:<AWS::Partition>:…`), once resolved. */
export function nagResourceName(scope: IConstruct, value: string): string {
  return flattenCfnReference(cdk.Stack.of(scope).resolve(value));
}

/**
 * Acknowledges AwsSolutions-IAM5 for each wildcard resource of `role`'s policies that `matches` accepts. The
 * finding ids name resources as cdk-nag prints them, which for a reference to another stack
 * (`Fn::GetStackOutput`) exists only once CDK resolves references: so the ids are computed in a validation
 * hook (after that step, before the policy-validation plugins run) with cdk-nag's own naming.
 */
export function acknowledgeWildcardResources(role: IConstruct, matches: (resource: string) => boolean, reason: string): void {
  role.node.addValidation({
    validate: () => {
      for (const policy of role.node.findAll().filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)) {
        const document = cdk.Stack.of(policy).resolve(policy.policyDocument) as { Statement: { Resource: unknown }[] };
        for (const statement of document.Statement) {
          for (const resource of [statement.Resource].flat().map(flattenCfnReference)) {
            if (matches(resource)) acknowledge(role, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
          }
        }
      }
      return [];
    },
  });
}

/** A statement of a synthesized identity policy, resolved. */
interface ResolvedStatement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

interface WildcardJustification {
  readonly actions: readonly string[];
  readonly reason: string;
}

const wildcardJustifications = new WeakMap<IConstruct, WildcardJustification[]>();

/**
 * AwsSolutions-IAM5 names every statement on `*` of a role by the same finding, `[Resource::*]`, so acknowledging it
 * outright would let any later wildcard pass unseen. Instead each grant that must use `*` (its actions have no
 * resource-level permission) names those actions here, and the finding is acknowledged only while every action the
 * role's policies allow on `*` is one of them (actions, not statements: CDK merges statements with the same
 * resources). A new action on `*`, of any grant, fails synth (R-SEC-5). Computed in a validation hook, like
 * acknowledgeWildcardResources, once the policies are complete.
 */
export function acknowledgeWildcardActions(role: IConstruct, actions: readonly string[], reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`Wildcard actions of ${role.node.path}: give a specific reason (why it is right here), at least ${MIN_REASON_LENGTH} characters`);
  }
  const registered = wildcardJustifications.get(role);
  if (registered) {
    registered.push({ actions, reason });
    return;
  }
  const justifications: WildcardJustification[] = [{ actions, reason }];
  wildcardJustifications.set(role, justifications);
  role.node.addValidation({
    validate: () => {
      const onStar = actionsOnStar(role);
      if (onStar.length === 0 || !onStar.every((action) => justifications.some((j) => j.actions.includes(action)))) return [];
      for (const j of justifications.filter((j) => j.actions.some((action) => onStar.includes(action)))) {
        acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', j.reason);
      }
      return [];
    },
  });
}

/** Every action the role's policies allow on the resource `*`. */
function actionsOnStar(role: IConstruct): string[] {
  const statements = role.node
    .findAll()
    .filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)
    .flatMap((policy) => (cdk.Stack.of(policy).resolve(policy.policyDocument) as { Statement: ResolvedStatement[] }).Statement);
  return statements
    .filter((statement) => statement.Effect !== 'Deny' && [statement.Resource].flat().map(flattenCfnReference).includes('*'))
    .flatMap((statement) => [statement.Action ?? []].flat());
}
