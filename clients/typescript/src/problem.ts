import { retryAfterSeconds } from "./retry.js";
import type { components } from "./schema.js";

export type Problem = components["schemas"]["Problem"];

/** A request Parley refused or failed: its problem document (RFC 9457), with the status and the field errors. */
export class ParleyError extends Error {
  override readonly name = "ParleyError";

  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** The seconds a 429's or 503's Retry-After asks to wait before sending again; undefined when it sent none. */
    readonly retryAfter?: number,
  ) {
    super(`${status} ${problem.title}: ${problem.detail}` + (problem.request_id ? ` (request ${problem.request_id})` : ""));
  }

  /** The stable part of the problem type, after https://parley.dev/problems/: "not-found", "invalid-request" … */
  get type(): string {
    return this.problem.type.substring(this.problem.type.lastIndexOf("/") + 1);
  }

  get title(): string {
    return this.problem.title;
  }

  get detail(): string {
    return this.problem.detail;
  }

  /** The id Parley gave the request, to quote in a report: its logs name it. */
  get requestId(): string | undefined {
    return this.problem.request_id ?? undefined;
  }

  /** The fields a 400 names, as sent: "messages[3].content". */
  get fields(): string[] {
    return (this.problem.errors ?? []).map((error) => error.field);
  }
}

/** What an openapi-fetch call resolves to: the data of a success, or the error body of a failure. */
export type Answer<T> = { data: T; error?: never; response: Response } | { data?: never; error: unknown; response: Response };

/** The data of a success (undefined for a 204, which has none), or a ParleyError carrying the problem document. */
export function ok<A extends Answer<unknown>>(answer: A): Exclude<A["data"], undefined> {
  if (answer.error === undefined && answer.response.ok) {
    return answer.data as Exclude<A["data"], undefined>;
  }
  const { status, headers } = answer.response;
  throw new ParleyError(status, asProblem(answer.error, answer.response), retryAfterSeconds(headers.get("Retry-After")));
}

/**
 * For a conditional GET (If-None-Match): undefined for a 304, when the version held is still current, else as
 * `ok`, the data of a success or a ParleyError.
 */
export function ifModified<A extends Answer<unknown>>(answer: A): Exclude<A["data"], undefined> | undefined {
  return answer.response.status === 304 ? undefined : ok(answer);
}

/** The body as a problem document; one that is not (a proxy's HTML page) becomes one that says what came. */
function asProblem(body: unknown, response: Response): Problem {
  if (typeof body === "object" && body !== null && "title" in body && "detail" in body) {
    return body as Problem;
  }
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: isRedirect(response)
      ? `the answer was a redirect to ${response.headers.get("Location") ?? "nowhere (no Location header)"}, which the client does not follow: `
        + "Parley never redirects, so the url given to Parley is not where it listens (a proxy or load balancer answered)"
      : typeof body === "string" && body.length > 0 ? body.slice(0, 500) : "the answer carried no problem document",
    instance: new URL(response.url || "http://unknown/").pathname,
  };
}

/** A 3xx other than 304 (Not Modified, an answer to If-None-Match): a redirect, which Parley never sends. */
function isRedirect(response: Response): boolean {
  return response.status >= 300 && response.status < 400 && response.status !== 304;
}
