/** Every function's declaration by name: what CDK deploys, and what the local runtime composes. */
import { ADMIN } from '../admin/function';
import { AI } from '../ai/function';
import { BILLING } from '../billing/function';
import { INGEST } from '../ingest/function';
import { PRIVACY } from '../privacy/function';
import { PRIVACY_TASKS } from '../privacy-tasks/function';
import { PROCESSOR } from '../processor/function';
import { QUERY } from '../query/function';
import { TERMINATION_TASKS } from '../termination-tasks/function';
import { USAGE } from '../usage/function';
import type { FunctionDeclaration, LumiqoFunctionName } from './declarations';

export const FUNCTION_DECLARATIONS: Readonly<Record<LumiqoFunctionName, FunctionDeclaration>> = {
  ingest: INGEST,
  processor: PROCESSOR,
  query: QUERY,
  admin: ADMIN,
  privacy: PRIVACY,
  'privacy-tasks': PRIVACY_TASKS,
  'termination-tasks': TERMINATION_TASKS,
  billing: BILLING,
  ai: AI,
  usage: USAGE,
};

export const FUNCTION_NAMES = Object.keys(FUNCTION_DECLARATIONS) as LumiqoFunctionName[];
