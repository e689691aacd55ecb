/**
 * The task states of the data-subject state machines (R-DSR-1..3, R-DSR-5), grouped by workflow as their files are:
 * access.ts, erasure.ts, rectification.ts, restriction.ts (restriction and lift-restriction) and common.ts (locate,
 * complete, record-failure, check-deadlines), all over audited-tasks.ts, which audits every call with the subject's
 * hash (R-SEC-6). Each task takes the execution's state and returns the next one.
 */
import { AccessTasks } from './access';
import type { SubjectRequestTasksDeps } from './audited-tasks';
import { CommonTasks } from './common';
import { ConsentTasks } from './consent';
import { ErasureTasks } from './erasure';
import { RectificationTasks } from './rectification';
import { RestrictionTasks } from './restriction';

export class SubjectRequestTasks {
  readonly common: CommonTasks;
  readonly access: AccessTasks;
  readonly erasure: ErasureTasks;
  readonly rectification: RectificationTasks;
  readonly restriction: RestrictionTasks;
  readonly consent: ConsentTasks;

  constructor(deps: SubjectRequestTasksDeps) {
    this.common = new CommonTasks(deps);
    this.access = new AccessTasks(deps);
    this.erasure = new ErasureTasks(deps);
    this.rectification = new RectificationTasks(deps);
    this.restriction = new RestrictionTasks(deps);
    this.consent = new ConsentTasks(deps);
  }
}
