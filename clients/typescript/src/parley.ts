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

  constructor(options: ParleyOptions) {
    const send = retrying(options.fetch ?? ((request: Request) => fetch(request)), { ...DEFAULT_RETRY, ...options.retry });
    this.api = createClient<paths>({
      baseUrl: options.url,
      headers: { Authorization: `Bearer ${options.key}` },
      fetch: options.timeoutSeconds === undefined ? send : timed(send, options.timeoutSeconds),
    });
  }

  /**
   * Appends a message under an Idempotency-Key: sent again with the same key (after a timeout, a 503, a
   * restart) it answers the message stored the first time instead of storing a second one.
   */
  async appendMessage(conversationId: string, message: NewMessage, idempotencyKey: string = crypto.randomUUID()): Promise<Message> {
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
