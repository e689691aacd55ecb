/**
 * Step Functions' rule for execution names (StartExecution `name`): 1-80 characters, no whitespace, no control
 * characters, none of `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`. Checked before the call, by the real starter
 * and its in-memory twin alike, so a test sees the error AWS would give.
 */
const FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

export function assertExecutionName(name: string): string {
  if (name.length < 1 || name.length > 80 || FORBIDDEN.test(name)) throw new Error(`Invalid Step Functions execution name '${name}'`);
  return name;
}
