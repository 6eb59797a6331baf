/**
 * Retries on 429 and 503, waiting what the answer's Retry-After says. Parley answers both before it runs
 * anything of the request, with one exception: a 503 append-not-confirmed, on an append whose outcome is
 * unknown. That one is retried only with the request's Idempotency-Key (Parley.appendMessage always sends
 * one), so a retry never doubles a write. A request lost to the network (refused, reset, closed before its
 * answer) may have run: it is sent again only when that cannot double it, a GET or HEAD, or a request
 * carrying an Idempotency-Key, which Parley answers with what the first one stored. Each wait is jittered: a
 * random time between the least it may be (the Retry-After) and twice that, at most maxWaitSeconds, so clients
 * refused at once (a rate limit) do not all come back at the same instant.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  readonly retries: number;
  /**
   * A Retry-After longer than this is not waited for: the 429 or 503 is the answer. It caps the wait
   * after a network error too (at least 1 s, then 2, 4 …) and the jitter.
   */
  readonly maxWaitSeconds: number;
  /** How to wait; tests pass their own so they do not sleep. */
  readonly sleep: (milliseconds: number) => Promise<void>;
  /** A number in [0, 1) that places each wait between its least and twice that; tests pass their own. */
  readonly random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  maxWaitSeconds: 30,
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  random: Math.random,
};

const RETRIED = new Set([429, 503]);

/**
 * `fetch`, retried on 429, 503 and network errors as `policy` allows; any other answer (or the last one) is
 * returned as it is, and the last network error thrown. An aborted request (its signal, a timeout) is not retried.
 */
export function retrying(fetch: (request: Request) => Promise<Response>, policy: RetryPolicy): (request: Request) => Promise<Response> {
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(request.clone()); // a body is read once: each attempt sends a copy
      } catch (error) {
        if (isNetworkError(error, request) && await cutWhileSending(error, request)) {
          throw new TypeError(`the connection closed while the request's ${await bodySize(request)}-byte body was still going out: most likely `
            + "Parley's 413 payload-too-large for a body past twice its limit (PARLEY_MAX_BODY, 8 MiB by default), which it refuses "
            + "unread and which Node's fetch cannot read once the connection broke; not sent again", { cause: error });
        }
        if (!(attempt < policy.retries && isNetworkError(error, request) && mayResend(request))) {
          throw error;
        }
        await sleep(policy, jittered(Math.min(2 ** attempt, policy.maxWaitSeconds), policy) * 1000, request.signal);
        continue;
      }
      const wait = attempt < policy.retries && RETRIED.has(response.status) && !(await mayBeStored(request, response))
        ? waitOf(response, policy) : undefined;
      if (wait === undefined) {
        return response;
      }
      await response.body?.cancel(); // frees the connection for the retry
      await sleep(policy, wait, request.signal);
    }
  };
}

/** `fetch` with each call (its retries and waits included) cut after `seconds`: it rejects with a TimeoutError. */
export function timed(fetch: (request: Request) => Promise<Response>, seconds: number): (request: Request) => Promise<Response> {
  return (request) => fetch(new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(seconds * 1000)]) }));
}

/**
 * Seconds a Retry-After asks for (a whole number of them or an HTTP date, never below 0), or undefined when it says
 * neither ("1.5", "-1"): such a 429 or 503 is not retried but thrown, as the Python client does. Date.parse alone
 * would take "1.5" for a date in 2001 and retry at once.
 */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) {
    return undefined;
  }
  const value = header.trim();
  const seconds = /^\d+$/.test(value) ? Number(value) : HTTP_DATE.test(value) ? (Date.parse(value) - Date.now()) / 1000 : NaN;
  return Number.isNaN(seconds) ? undefined : Math.max(0, seconds);
}

/** An HTTP date (RFC 9110): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete forms, all led by the day. */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i;

/** fetch's network error (a TypeError, by the Fetch standard), not an abort or a timeout the caller asked for. */
function isNetworkError(error: unknown, request: Request): boolean {
  return error instanceof TypeError && !request.signal.aborted;
}

/** A body this big whose connection breaks is taken for one Parley refused unread (see cutWhileSending). */
const LARGE_BODY = 1 << 20;

/**
 * The connection broke (EPIPE, ECONNRESET) under a body of 1 MiB or more. Parley stops reading a body past twice its
 * limit and answers 413 at once, closing the connection; fetch, still writing, fails on the broken pipe and loses the
 * answer (Python's client reads it). Sending such a body again would meet the same, so it is not retried. A body this
 * size is rare otherwise (a message is at most 32 KiB, so only a big batch), and a real network cut under one is
 * thrown rather than sent again.
 */
async function cutWhileSending(error: unknown, request: Request): Promise<boolean> {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return (code === "EPIPE" || code === "ECONNRESET") && await bodySize(request) >= LARGE_BODY;
}

async function bodySize(request: Request): Promise<number> {
  return request.body === null ? 0 : (await request.clone().arrayBuffer()).byteLength;
}

/** Sent again after it may have run, it cannot be stored twice: a read, or Parley answers it by its key. */
function mayResend(request: Request): boolean {
  return request.method === "GET" || request.method === "HEAD" || request.headers.has("Idempotency-Key");
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

/** Milliseconds Retry-After asks for (1 s when absent), or undefined when unreadable or past the policy's limit. */
function waitOf(response: Response, policy: RetryPolicy): number | undefined {
  const header = response.headers.get("Retry-After");
  const seconds = header === null ? 1 : retryAfterSeconds(header);
  return seconds === undefined || seconds > policy.maxWaitSeconds ? undefined : jittered(seconds, policy) * 1000;
}

/** Seconds between the least a wait may be and twice that, at most the policy's limit (never below the least). */
function jittered(least: number, policy: RetryPolicy): number {
  return Math.min(least * (1 + policy.random()), Math.max(least, policy.maxWaitSeconds));
}

/** The policy's wait, cut short (rejecting with the signal's reason) when the request is aborted meanwhile. */
function sleep(policy: RetryPolicy, milliseconds: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    policy.sleep(milliseconds).then(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, reject);
  });
}
