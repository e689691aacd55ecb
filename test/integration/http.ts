/** Helpers of the end-to-end tests: JSON over HTTP against the local platform, and polling with a deadline. */

export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export async function request<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; token?: string; headers?: Record<string, string>; body?: string | object } = {},
): Promise<JsonResponse<T>> {
  const body = init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const response = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes; never a fixed sleep. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
