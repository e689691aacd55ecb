/**
 * Records every AWS call a function makes, as AWS receives it: below the SDK (its retries, the Encryption SDK's KMS
 * calls and the document client's marshalling included), at the HTTP handler every client here uses. Each call is
 * attributed to the function whose invocation made it (AsyncLocalStorage, so concurrent invocations stay apart) and
 * to the credentials it was signed with (a tenant-scoped session's token names its role and tenant).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/types';
import type { LumiqoFunctionName } from '../../lambdas/shared/declarations';
import { decodeAwsRequest, type AwsCall } from '../support/aws-wire';

export interface RecordedCall {
  readonly fn: LumiqoFunctionName;
  readonly call: AwsCall;
  /** `x-amz-security-token`: present for assumed-role credentials. */
  readonly sessionToken?: string;
  /** The HTTP status AWS (here: the emulator or fake) answered. */
  readonly status?: number;
  /** The error code of a failed call (`__type` of a JSON error), when there is one. */
  readonly errorCode?: string;
}

const current = new AsyncLocalStorage<LumiqoFunctionName>();
const recorded: RecordedCall[] = [];
const INSTALLED = Symbol.for('lumiqo.call-recorder');

/** Runs `work` as `fn`: every AWS call made within it, however deep in promises, is recorded as fn's. */
export function asFunction<T>(fn: LumiqoFunctionName, work: () => Promise<T>): Promise<T> {
  return current.run(fn, work);
}

export const recordedCalls = (): readonly RecordedCall[] => [...recorded];

const header = (request: HttpRequest, name: string): string | undefined =>
  Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];

/** Wraps NodeHttpHandler once (after the AWS limits layer, which it then sees refusing too). */
export function installCallRecorder(): void {
  const prototype = NodeHttpHandler.prototype as NodeHttpHandler & { [INSTALLED]?: true };
  if (prototype[INSTALLED]) return;
  const handle = prototype.handle;
  prototype.handle = async function (this: NodeHttpHandler, ...args: Parameters<NodeHttpHandler['handle']>) {
    const fn = current.getStore();
    const call = fn ? decodeAwsRequest(args[0]) : undefined;
    const result = await handle.apply(this, args);
    if (fn && call) {
      const token = header(args[0], 'x-amz-security-token');
      const status = result.response.statusCode;
      const errorCode = status >= 400 ? result.response.headers['x-amzn-errortype']?.split(':')[0] : undefined;
      recorded.push({ fn, call, ...(token ? { sessionToken: token } : {}), status, ...(errorCode ? { errorCode } : {}) });
    }
    return result;
  };
  prototype[INSTALLED] = true;
}
