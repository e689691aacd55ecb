/**
 * The Lambda side of a workflow's task states, shared by privacy-tasks and termination-tasks: Step Functions sends
 * `{ task, state }` and keeps what comes back as the next state. A task name outside the state machines' contract,
 * or a state that fails its schema, can never succeed: PermanentTaskError, which the state machines do not retry.
 * R-SEC-7: the log lines carry the task, ids and counters, and of an error its name only (a message may quote data).
 */
import type * as z from '../domain/zod';
import { PermanentTaskError, type TaskInvocation } from '../domain/privacy';
import { logger } from './logger';

type LogFields = Record<string, string | number | boolean | undefined>;

export interface TaskRunnerSpec<T extends string, S> {
  /** Names the workflow in errors and log lines: `privacy` → "privacy task done". */
  readonly workflow: string;
  /** Task name → the domain method that runs it; the names are the state machines' contract. */
  readonly tasks: Readonly<Record<T, (state: S) => Promise<S>>>;
  /** What a state must hold before any task sees it. @default none: the tasks check the state themselves */
  readonly stateSchema?: z.ZodMiniType;
  /** R-SEC-7: the ids a log line names the execution by (the state may be malformed when no schema checked it). */
  readonly ids: (state: S) => LogFields;
  /** R-SEC-7: the counters of the next state worth a log line. */
  readonly progress: (next: S) => LogFields;
}

export function taskRunner<T extends string, S>(spec: TaskRunnerSpec<T, S>): (invocation: TaskInvocation<S>) => Promise<S> {
  const { workflow, tasks, stateSchema, ids, progress } = spec;
  // Own keys only: `toString` or `constructor` is no task.
  const isTask = (task: unknown): task is T => typeof task === 'string' && Object.hasOwn(tasks, task);
  return async (invocation) => {
    const task = invocation?.task;
    if (!isTask(task)) throw new PermanentTaskError(`Unknown ${workflow} task '${String(task).slice(0, 64)}'`);
    let state = invocation.state;
    if (stateSchema) {
      const parsed = stateSchema.safeParse(state);
      if (!parsed.success) throw new PermanentTaskError(`Malformed ${workflow} state for task '${task}'`);
      state = parsed.data as S;
    }
    const started = Date.now();
    try {
      const next = await tasks[task](state);
      logger.info(`${workflow} task done`, { task, ...ids(state), ...progress(next), ms: Date.now() - started });
      return next;
    } catch (error) {
      logger.error(`${workflow} task failed`, { task, ...ids(state), errorName: (error as Error)?.name });
      throw error;
    }
  };
}
