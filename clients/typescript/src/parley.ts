import createClient, { type Client } from "openapi-fetch";
import { ok } from "./problem.js";
import { DEFAULT_RETRY, type RetryPolicy, retrying, timed } from "./retry.js";
import type { components, paths } from "./schema.js";

export type Schemas = components["schemas"];
export type Character = Schemas["CharacterProfile"];
export type User = Schemas["User"];
export type Conversation = Schemas["Conversation"];
export type Message = Schemas["Message"];
export type NewMessage = Schemas["MessageInput"];
export type HistoryPage = Schemas["HistoryPage"];
export type Memory = Schemas["Memory"];
export type Context = Schemas["Context"];
export type ImportReport = Schemas["Report"];
/** One line of an import (docs/api.md, "Import"): a character, user, conversation, message or memory by its external id. */
export type ImportLine = { readonly type: "character" | "user" | "conversation" | "message" | "memory"; readonly [field: string]: unknown };

export interface ParleyOptions {
  /** Where Parley's API port listens: http://127.0.0.1:8080 */
  readonly url: string;
  /** The app's API key (pk_…), from `parley apps create`. */
  readonly key: string;
  /** How 429, 503 and network errors are retried; DEFAULT_RETRY for what is not given. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Seconds a call may take, its retries and their waits included, before it rejects with a DOMException named
   * TimeoutError; none by default. One call's own `signal` (`AbortSignal.timeout(…)`) bounds it as well.
   */
  readonly timeoutSeconds?: number;
  /** The fetch to send with (globalThis.fetch by default). */
  readonly fetch?: (request: Request) => Promise<Response>;
}

/** One app's client: every route typed through `api`, plus what a chat app does on every turn. */
export class Parley {
  /** Every route of Parley's API document, typed from it: `parley.api.GET("/v1/characters/{character_id}", …)`. */
  readonly api: Client<paths>;
  /** Sends once, with no retry: for a streamed body, which a retry could not send again. */
  readonly #once: (request: Request) => Promise<Response>;

  constructor(options: ParleyOptions) {
    const once = options.fetch ?? ((request: Request) => fetch(request));
    const bounded = (send: typeof once) => (options.timeoutSeconds === undefined ? send : timed(send, options.timeoutSeconds));
    this.#once = bounded(once);
    this.api = createClient<paths>({
      baseUrl: options.url,
      headers: { Authorization: `Bearer ${options.key}` },
      fetch: bounded(retrying(once, { ...DEFAULT_RETRY, ...options.retry })),
      // Parley never redirects: a 3xx comes from something in front of it (a proxy, a wrong url). Followed, it
      // would send the request there (fetch drops Authorization only across origins); "manual" hands the 3xx
      // back, which ok() throws as a ParleyError naming its Location. ("error" would be a TypeError, which the
      // retry policy takes for a lost connection.)
      redirect: "manual",
    });
  }

  /**
   * POST /v1/import: the lines (objects, or NDJSON lines as strings) streamed as they come, so an import of any
   * size holds little of it in memory; answers the report (lines, imported, existing, rejected, first_rejected).
   * Sent once: the lines may be an iterator the first attempt spent. An import is idempotent by external ids, so
   * after a 429, a 503 (ParleyError.retryAfter) or a network error, run it again with the same lines.
   */
  async importLines(lines: Iterable<ImportLine | string> | AsyncIterable<ImportLine | string>): Promise<ImportReport> {
    return ok(
      await this.api.POST("/v1/import", {
        body: ndjson(lines) as unknown as string, // openapi-fetch hands the stream to fetch as it is
        bodySerializer: (stream) => stream,
        headers: { "Content-Type": "application/x-ndjson" },
        fetch: this.#once,
        ...({ duplex: "half" } as object), // what fetch asks of a streamed body (not in the DOM types yet)
      }),
    );
  }

  /**
   * Appends a message under an Idempotency-Key: sent again with the same key (after a timeout, a 503, a
   * restart) it answers the message stored the first time instead of storing a second one. The key is
   * `idempotencyKey`, else the message's own `idempotency_key`, else a new UUID.
   */
  async appendMessage(conversationId: string, message: NewMessage,
    idempotencyKey: string = message.idempotency_key ?? crypto.randomUUID()): Promise<Message> {
    return ok(
      await this.api.POST("/v1/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: conversationId }, header: { "Idempotency-Key": idempotencyKey } },
        body: message,
      }),
    );
  }

  /** The conversation's history from the latest page back to the first message; each page is oldest first. */
  async *history(conversationId: string, limit = 50): AsyncGenerator<HistoryPage> {
    let before: string | undefined;
    do {
      const page = ok(
        await this.api.GET("/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId }, query: { limit, before } },
        }),
      );
      yield page;
      before = page.has_older ? (page.older_cursor ?? undefined) : undefined;
    } while (before !== undefined);
  }
}

/** The lines as NDJSON, pulled as fetch sends them, in chunks of about 64 KiB; cancelled, it ends the iteration. */
function ndjson(lines: Iterable<ImportLine | string> | AsyncIterable<ImportLine | string>): ReadableStream<Uint8Array> {
  const iterator = Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]();
  const encoder = new TextEncoder();
  return new ReadableStream({
    async pull(controller) {
      let chunk = "";
      while (chunk.length < 64 * 1024) {
        const next = await iterator.next();
        if (next.done) {
          if (chunk.length > 0) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += (typeof next.value === "string" ? next.value.replace(/\n$/, "") : JSON.stringify(next.value)) + "\n";
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
