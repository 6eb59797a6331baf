/**
 * Retries on 429 and 503, waiting what the answer's Retry-After says. Parley answers both before it runs
 * anything of the request, with one exception: a 503 append-not-confirmed, on an append whose outcome is
 * unknown. That one is retried only with the request's Idempotency-Key (Parley.appendMessage always sends
 * one), so a retry never doubles a write.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  readonly retries: number;
  /** A Retry-After longer than this is not waited for: the 429 or 503 is the answer. */
  readonly maxWaitSeconds: number;
  /** How to wait; tests pass their own so they do not sleep. */
  readonly sleep: (milliseconds: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  maxWaitSeconds: 30,
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
};

const RETRIED = new Set([429, 503]);

/** `fetch`, retried on 429 and 503 as `policy` allows; any other answer (or the last one) is returned as it is. */
export function retrying(fetch: (request: Request) => Promise<Response>, policy: RetryPolicy): (request: Request) => Promise<Response> {
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(request.clone()); // a body is read once: each attempt sends a copy
      const wait = attempt < policy.retries && RETRIED.has(response.status) && !(await mayBeStored(request, response))
        ? waitOf(response, policy) : undefined;
      if (wait === undefined) {
        return response;
      }
      await response.body?.cancel(); // frees the connection for the retry
      await policy.sleep(wait);
    }
  };
}

/** An append whose outcome is unknown, sent without an Idempotency-Key: sent again, it could be stored twice. */
async function mayBeStored(request: Request, response: Response): Promise<boolean> {
  if (response.status !== 503 || request.headers.has("Idempotency-Key")) {
    return false;
  }
  const problem: unknown = await response.clone().json().catch(() => undefined);
  return typeof problem === "object" && problem !== null && "type" in problem && typeof problem.type === "string"
    && problem.type.endsWith("/append-not-confirmed");
}

/** Milliseconds Retry-After asks for (seconds or an HTTP date; 1 s when absent), or undefined past the policy's limit. */
function waitOf(response: Response, policy: RetryPolicy): number | undefined {
  const header = response.headers.get("Retry-After");
  const seconds = header === null ? 1 : /^\d+$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  if (Number.isNaN(seconds) || seconds > policy.maxWaitSeconds) {
    return undefined;
  }
  return Math.max(0, seconds) * 1000;
}
