/**
 * What every function's composition (`lambdas/<name>/composition.ts`) starts from: its environment read through its
 * declaration, the client configuration, the clock, and one instance of each client or adapter however many
 * adapters share it. It imports no adapter and no SDK client: each composition imports exactly those it builds, so a
 * function's bundle carries only what it uses.
 */
import { SYSTEM_CLOCK, type Clock } from '../domain/ports';
import type { AwsClientsConfig } from '../adapters/client-config';
import type { FunctionDeclaration } from './declarations';
import { FunctionEnvironment, clientsConfigFromEnv, type RuntimeOptions } from './environment';

export class Composition {
  readonly env: FunctionEnvironment;
  readonly clients: AwsClientsConfig;
  readonly clock: Clock;
  private readonly built = new Map<string, unknown>();

  constructor(
    declaration: FunctionDeclaration,
    env: NodeJS.ProcessEnv,
    readonly runtime: RuntimeOptions = {},
  ) {
    this.env = new FunctionEnvironment(declaration, env);
    this.clients = runtime.clients ?? clientsConfigFromEnv(env);
    this.clock = runtime.clock ?? SYSTEM_CLOCK;
  }

  get settings() {
    return this.env.settings;
  }

  /** One instance per composition: a client or adapter that several adapters use is built once. */
  once<T>(name: string, build: () => T): T {
    if (!this.built.has(name)) this.built.set(name, build());
    return this.built.get(name) as T;
  }
}

/**
 * A Lambda entry: the handler is composed from the function's environment on the first invocation (not at import,
 * so a test can set the environment first), then reused by the container.
 */
export function lambdaEntry<E, R>(create: () => (event: E) => Promise<R>): (event: E) => Promise<R> {
  let handler: ((event: E) => Promise<R>) | undefined;
  return (event) => {
    handler ??= create();
    return handler(event);
  };
}
