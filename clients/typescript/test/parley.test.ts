// A chat app's program against a live Parley (PARLEY_URL, PARLEY_KEY), then the retry policy against a
// tiny local server that answers 503 first. Run with `npm test`.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  type Character, type Conversation, type ImportLine, type Message, Parley, ParleyError, type User, ifModified, ok, pages,
} from "../src/index.js";
import { retryAfterSeconds } from "../src/retry.js";

const url = process.env.PARLEY_URL;
const key = process.env.PARLEY_KEY;
if (!url || !key) {
  throw new Error("set PARLEY_URL (http://127.0.0.1:8080) and PARLEY_KEY (an app key from `parley apps create`)");
}
const parley = new Parley({ url, key });

describe("a chat app's program against a live Parley", () => {
  let luna: Character;
  let ada: User;
  let chat: Conversation;

  before(async () => {
    luna = ok(await parley.api.POST("/v1/characters", { body: { name: "Luna", system_prompt: "You are Luna, a calm astronomer." } }));
    ada = ok(await parley.api.POST("/v1/users", { body: { external_id: `ada-${crypto.randomUUID()}`, profile: { name: "Ada" } } }));
    chat = await startChat();
  });

  async function startChat(): Promise<Conversation> {
    return ok(await parley.api.POST("/v1/conversations", { body: { user_id: ada.id, character_id: luna.id, title: "Stargazing" } }));
  }

  test("an append sent again with its idempotency key answers the message stored the first time", async () => {
    const first = await parley.appendMessage(chat.id, { role: "user", content: "What is a nebula?" }, "turn-1");
    const retried = await parley.appendMessage(chat.id, { role: "user", content: "What is a nebula?" }, "turn-1");
    const reply = await parley.appendMessage(chat.id, { role: "assistant", character_id: luna.id, content: "A cloud of gas and dust." });

    assert.equal(retried.id, first.id);
    assert.equal(retried.seq, first.seq);
    assert.equal(reply.seq, first.seq + 1);
  });

  test("an append past twice Parley's body limit is not sent again: its 413, or a network error that says it is most likely one", async () => {
    const waits: number[] = [];
    const counting = new Parley({ url, key, retry: { sleep: async (ms) => void waits.push(ms) } });

    const error = await counting.appendMessage(chat.id, { role: "user", content: "x".repeat(17 << 20) }).then(
      () => assert.fail("a 17 MB append was taken"), (error: unknown) => error);

    // Parley answers 413 and closes unread; fetch mostly fails on the broken pipe before it reads the answer
    const as413 = error instanceof ParleyError ? error.status === 413 : error instanceof TypeError && /413 payload-too-large/.test(error.message);
    assert.ok(as413, String(error));
    assert.deepEqual(waits, [], "not sent again");
  });

  test("an append whose body carries its idempotency_key is sent under that key, and sent again answers the same message", async () => {
    const key = `turn-${crypto.randomUUID()}`;
    const first = await parley.appendMessage(chat.id, { role: "user", content: "Is Pluto a planet?", idempotency_key: key });
    const retried = await parley.appendMessage(chat.id, { role: "user", content: "Is Pluto a planet?", idempotency_key: key });

    assert.equal(retried.id, first.id);
  });

  test("history pages back through older cursors to the first message", async () => {
    const paged = await startChat();
    const sent: Message[] = [];
    for (let i = 1; i <= 7; i++) {
      sent.push(await parley.appendMessage(paged.id, { role: i % 2 ? "user" : "assistant", content: `message ${i}` }));
    }

    const seen: Message[][] = [];
    for await (const page of parley.history(paged.id, 3)) {
      seen.push(page.messages);
    }

    assert.deepEqual(seen.map((page) => page.length), [3, 3, 1]);
    assert.deepEqual(seen.reverse().flat().map((message) => message.id), sent.map((message) => message.id));
  });

  test("the inbox, paged by next_cursor, lists the user's conversations with their last message", async () => {
    await startChat();
    await parley.appendMessage(chat.id, { role: "user", content: "Show me Orion." });

    const entries = [];
    for await (const page of pages((cursor) =>
      parley.api.GET("/v1/users/{user_id}/inbox", { params: { path: { user_id: ada.id }, query: { limit: 1, cursor } } }),
    )) {
      entries.push(...page.conversations);
    }

    assert.ok(entries.length >= 2, `ada has two conversations or more, the inbox listed ${entries.length}`);
    const entry = entries.find((e) => e.conversation_id === chat.id);
    assert.equal(entry?.last_message?.preview, "Show me Orion.");
  });

  test("search finds a message by its words", async () => {
    const said = await parley.appendMessage(chat.id, { role: "user", content: "Is Betelgeuse going supernova?" });

    const hits = [];
    for await (const page of pages((cursor) =>
      parley.api.GET("/v1/search/messages", { params: { query: { q: "betelgeuse", conversation_id: chat.id, cursor } } }),
    )) {
      hits.push(...page.hits);
    }

    assert.deepEqual(hits.map((hit) => hit.message_id), [said.id]);
    assert.match(hits[0]?.snippet ?? "", /<mark>Betelgeuse<\/mark>/);
  });

  test("a memory is stored, recalled by its embedding and given in the context", async () => {
    const memory = ok(
      await parley.api.POST("/v1/users/{user_id}/memories", {
        params: { path: { user_id: ada.id } },
        body: { character_id: luna.id, content: "Ada's telescope is a 6-inch Dobsonian", importance: 0.8, embedding: [1, 0, 0] },
      }),
    );

    const recalled = ok(
      await parley.api.POST("/v1/users/{user_id}/memories/recall", {
        params: { path: { user_id: ada.id } },
        body: { character_id: luna.id, embedding: [0.9, 0.1, 0], limit: 3 },
      }),
    );
    const context = ok(
      await parley.api.GET("/v1/conversations/{conversation_id}/context", {
        params: { path: { conversation_id: chat.id }, query: { messages: 10, memory_query: "telescope" } },
      }),
    );

    assert.equal(recalled.memories[0]?.memory.id, memory.id);
    assert.equal(context.character.name, "Luna");
    assert.deepEqual(context.memories.map((m) => m.id), [memory.id]);
    assert.equal(context.messages[0]?.role, "system");
    assert.ok(context.messages.some((m) => m.content === "Show me Orion."));
  });

  test("a conditional GET is undefined through ifModified while the version held is current, the data once it is not", async () => {
    const get = (etag?: string) => parley.api.GET("/v1/conversations/{conversation_id}", {
      params: { path: { conversation_id: chat.id }, header: { "If-None-Match": etag } },
    });
    const first = await get();
    const etag = first.response.headers.get("ETag") ?? assert.fail("no ETag");

    const current = ifModified(await get(etag));
    const changed = ifModified(await get(`"stale"`));

    assert.equal(current, undefined);
    assert.equal(changed?.id, chat.id);
    assert.equal((await rejection(get(etag).then(ok))).status, 304, "ok takes only a 2xx");
  });

  test("an import streams its lines, answers the report, and run again adds nothing", async () => {
    const run = crypto.randomUUID();
    const march = Date.parse("2025-03-01T10:00:00Z");
    async function* lines(): AsyncGenerator<ImportLine | string> { // ~150 KB, three chunks
      yield { type: "character", external_id: `luna-${run}`, name: "Luna" };
      yield { type: "user", external_id: `tg-${run}` };
      yield { type: "conversation", external_id: `chat-${run}`, user: `tg-${run}`, character: `luna-${run}`, created_at: new Date(march).toISOString() };
      for (let i = 1; i <= 1000; i++) {
        yield { type: "message", conversation: `chat-${run}`, external_id: `m${i}`, role: "user", content: `message ${i} from March`,
          created_at: new Date(march + i * 1000).toISOString() };
      }
      yield JSON.stringify({ type: "message", conversation: `chat-${run}`, external_id: "m0", role: "narrator", content: "x",
        created_at: new Date(march + 7_200_000).toISOString() }) + "\n";
    }

    const first = await parley.importLines(lines());
    const again = await parley.importLines(lines());

    assert.equal(first.lines, 1004);
    assert.deepEqual(first.imported, { characters: 1, users: 1, conversations: 1, messages: 1000, memories: 0 });
    assert.deepEqual(first.first_rejected.map((rejected) => rejected.line), [1004]);
    assert.equal(again.existing.messages, 1000);
    assert.equal(again.imported.messages, 0);
  });

  test("an unknown id is a ParleyError 404 not-found", async () => {
    const error = await rejection(parley.api.GET("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: "999999999" } } }).then(ok));

    assert.equal(error.status, 404);
    assert.equal(error.type, "not-found");
    assert.match(error.requestId ?? "", /^[0-9a-f]{32}$/, "the request id to quote in a report");
    assert.match(error.detail, /999999999/);
  });

  test("a field the types cannot refuse is a ParleyError 400 that names it", async () => {
    const error = await rejection(parley.appendMessage(chat.id, { role: "user", content: "a NUL \u0000 PostgreSQL cannot store" }));

    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid-request");
    assert.deepEqual(error.fields, ["content"]);
  });
});

describe("the built package", () => {
  test("carries the types its declarations import", () => {
    assert.ok(existsSync(new URL("../src/schema.d.ts", import.meta.url)), "dist/src/schema.d.ts: without it every type is any");
  });
});

describe("retries on 429, 503 and network errors", () => {
  const answers: Array<Answer> = [];
  const received: Array<{ idempotencyKey: string | undefined; body: string }> = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (answers[0]?.beforeTheBody) {
      received.push({ idempotencyKey: request.headers["idempotency-key"] as string | undefined, body: "" });
      return answers.shift()?.(response);
    }
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ idempotencyKey: request.headers["idempotency-key"] as string | undefined, body });
      (answers.shift() ?? unavailable("10"))(response);
    });
  });
  let local: string;
  const waits: number[] = [];
  // no jitter: each wait is the least the policy allows
  const client = () => new Parley({ url: local, key: "pk_test", retry: { retries: 2, sleep: async (ms) => void waits.push(ms), random: () => 0 } });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test("a 503 with Retry-After: 1 is sent again, same key and body, after the second it asks for", async () => {
    answers.push(unavailable("1"), stored);
    received.length = 0;
    waits.length = 0;

    const message = await client().appendMessage("7", { role: "user", content: "hello" }, "key-1");

    assert.equal(message.id, "42");
    assert.deepEqual(waits, [1000]);
    assert.deepEqual(received.map((r) => r.idempotencyKey), ["key-1", "key-1"]);
    assert.equal(received[1]?.body, received[0]?.body);
  });

  test("an append whose outcome is unknown is sent again only with its Idempotency-Key", async () => {
    answers.push(notConfirmed, stored, notConfirmed);
    received.length = 0;

    await client().appendMessage("7", { role: "user", content: "hello" }, "key-2");
    const batch = client().api.POST("/v1/conversations/{conversation_id}/messages/batch", {
      params: { path: { conversation_id: "7" } }, body: { messages: [{ content: "hello" }] },
    }).then(ok);
    const unsure = await rejection(batch);

    assert.equal(unsure.type, "append-not-confirmed");
    assert.deepEqual(received.map((r) => r.idempotencyKey), ["key-2", "key-2", undefined]);
  });

  test("retries stop at the policy's count, and at a Retry-After longer than it waits; the 503 is thrown", async () => {
    answers.push(unavailable("1"), unavailable("1"), unavailable("1"), unavailable("3600"));
    waits.length = 0;

    const character = (parley: Parley) => parley.api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } }).then(ok);
    const spent = await rejection(character(client()));
    const tooLong = await rejection(character(client()));

    assert.deepEqual([spent.status, spent.type], [503, "pool-saturated"]);
    assert.deepEqual(waits, [1000, 1000]);
    assert.equal(tooLong.status, 503);
  });

  test("a 429's and a 503's Retry-After reach the ParleyError as seconds", async () => {
    answers.push(tooMany("2"), unavailable("3600"));

    const character = (parley: Parley) => parley.api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } }).then(ok);
    const limited = await rejection(character(new Parley({ url: local, key: "pk_test", retry: { retries: 0 } })));
    const unavailableLong = await rejection(character(client()));

    assert.deepEqual([limited.status, limited.retryAfter], [429, 2]);
    assert.deepEqual([unavailableLong.status, unavailableLong.retryAfter], [503, 3600]);
  });

  test("an append whose connection is reset before its answer is sent again with the key it was given", async () => {
    answers.push(hangUp, stored);
    received.length = 0;
    waits.length = 0;

    const message = await client().appendMessage("7", { role: "user", content: "hello" });

    assert.equal(message.id, "42");
    assert.equal(received.length, 2);
    assert.match(received[0]?.idempotencyKey ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(received[1]?.idempotencyKey, received[0]?.idempotencyKey);
    assert.equal(received[1]?.body, received[0]?.body);
    assert.deepEqual(waits, [1000]);
  });

  test("a GET lost to the network is sent again, 1 s then 2 s later, up to the policy's count; the error is thrown", async () => {
    answers.push(hangUp, hangUp, hangUp);
    received.length = 0;
    waits.length = 0;

    const lost = client().api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } });

    await assert.rejects(lost, TypeError);
    assert.equal(received.length, 3);
    assert.deepEqual(waits, [1000, 2000]);
  });

  test("a request without an Idempotency-Key that may have run is not sent again after a network error", async () => {
    answers.push(hangUp);
    received.length = 0;

    const batch = client().api.POST("/v1/conversations/{conversation_id}/messages/batch", {
      params: { path: { conversation_id: "7" } }, body: { messages: [{ content: "hello" }] },
    });

    await assert.rejects(batch, TypeError);
    assert.equal(received.length, 1);
  });

  test("an import Parley stops is its ParleyError at once, its lines neither read through nor sent again", async () => {
    answers.push(beforeTheBody(unavailable("5"))); // as Parley answers a busy database
    received.length = 0;
    let read = 0;
    function* lines(): Generator<ImportLine> { // 200 MB, were they all read
      for (; read < 200_000; read++) {
        yield { type: "user", external_id: `u${read}`, profile: { bio: "x".repeat(1000) } };
      }
    }

    const stopped = await rejection(client().importLines(lines()));

    assert.deepEqual([stopped.status, stopped.retryAfter], [503, 5]);
    assert.ok(read < 20_000, `the lines stop being read once Parley has answered, not after ${read}`);
    assert.equal(received.length, 1);
  });

  test("waits are spread between the least and twice it, never past maxWaitSeconds, so clients do not retry in lockstep", async () => {
    answers.push(tooMany("1"), tooMany("25"), stored, hangUp, stored);
    waits.length = 0;
    const halfway = new Parley({ url: local, key: "pk_test", retry: { retries: 2, maxWaitSeconds: 30, sleep: async (ms) => void waits.push(ms), random: () => 0.5 } });

    await halfway.appendMessage("7", { role: "user", content: "hello" });
    await halfway.appendMessage("7", { role: "user", content: "hello" });

    assert.deepEqual(waits, [1500, 30_000, 1500], "Retry-After 1, then 25 (at most maxWaitSeconds), then a lost connection's 1 s");
  });

  test("a Retry-After that is neither whole seconds nor an HTTP date is not waited on: the 503 is thrown, retryAfter unset", async () => {
    answers.push(unavailable("1.5"), unavailable("-1"));
    received.length = 0;
    waits.length = 0;

    const character = () => client().api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } }).then(ok);
    const fractional = await rejection(character());
    const negative = await rejection(character());

    assert.deepEqual([fractional.status, fractional.retryAfter, negative.retryAfter], [503, undefined, undefined]);
    assert.deepEqual([received.length, waits], [2, []]);
    assert.equal(retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT"), 0, "a date past is now");
    assert.equal(retryAfterSeconds(" 3 "), 3);
  });

  test("a body Parley closes the connection on unread (past twice its limit) is not sent again: the error says why", async () => {
    answers.push(beforeTheBody(cutUnread), hangUp, stored);
    received.length = 0;
    waits.length = 0;

    const oversized = client().appendMessage("7", { role: "user", content: "x".repeat(17 << 20) }); // an Idempotency-Key: resendable
    await assert.rejects(oversized, (error: Error) => error instanceof TypeError && /413 payload-too-large/.test(error.message)
      && (error.cause as Error).message === "fetch failed");
    assert.deepEqual([received.length, waits], [1, []]);

    const small = client().appendMessage("7", { role: "user", content: "hello" }); // a small one lost is sent again
    assert.equal((await small).id, "42");
    assert.deepEqual([received.length, waits], [3, [1000]]);
  });

  test("a redirect is not followed: its ParleyError names the Location, and nothing goes where it points", async () => {
    const elsewhere: Array<string | undefined> = [];
    const other = createServer((request, response) => {
      elsewhere.push(request.headers.authorization);
      response.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const location = `http://127.0.0.1:${(other.address() as AddressInfo).port}/v1/characters/1`;
      answers.push((response) => response.writeHead(302, { Location: location, "Content-Type": "text/html" }).end("<p>moved</p>"));
      received.length = 0;

      const redirected = await rejection(client().api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } }).then(ok));

      assert.equal(redirected.status, 302);
      assert.ok(redirected.detail.includes(location), redirected.detail);
      assert.deepEqual(elsewhere, [], "the redirect was not followed");
      assert.equal(received.length, 1, "nor sent again");
    } finally {
      other.close();
    }
  });

  test("timeoutSeconds cuts a call that gets no answer, and one waiting to retry, with a TimeoutError", async () => {
    answers.push(answerIn3s, unavailable("1"));
    received.length = 0;

    const timedOut = (parley: Parley) => parley.api.GET("/v1/characters/{character_id}", { params: { path: { character_id: "1" } } });
    const started = Date.now();
    await assert.rejects(timedOut(new Parley({ url: local, key: "pk_test", timeoutSeconds: 0.2 })), { name: "TimeoutError" });
    const tenSeconds = () => new Promise<void>((resolve) => setTimeout(resolve, 10_000));
    await assert.rejects(timedOut(new Parley({ url: local, key: "pk_test", timeoutSeconds: 0.2, retry: { sleep: tenSeconds } })), { name: "TimeoutError" });

    assert.ok(Date.now() - started < 5000, `both gave up within 5 s, not ${Date.now() - started} ms`);
    assert.equal(received.length, 2, "neither was sent again");
  });
});

type Answer = ((response: ServerResponse) => void) & { beforeTheBody?: boolean };

/** The answer, given as soon as the request's headers came, its body unread. */
function beforeTheBody(answer: Answer): Answer {
  return Object.assign((response: ServerResponse) => answer(response), { beforeTheBody: true });
}

function unavailable(retryAfter: string) {
  return (response: ServerResponse) =>
    response.writeHead(503, { "Content-Type": "application/problem+json", "Retry-After": retryAfter }).end(
      JSON.stringify({
        type: "https://parley.dev/problems/pool-saturated",
        title: "Service unavailable",
        status: 503,
        detail: "no database connection came free",
        instance: "/",
      }),
    );
}

function tooMany(retryAfter: string) {
  return (response: ServerResponse) =>
    response.writeHead(429, { "Content-Type": "application/problem+json", "Retry-After": retryAfter }).end(
      JSON.stringify({
        type: "https://parley.dev/problems/rate-limited",
        title: "Too many requests",
        status: 429,
        detail: "the app sent more requests than its limit",
        instance: "/",
      }),
    );
}

/** A 503 after 3 s, past the timeouts the test sets. */
function answerIn3s(response: ServerResponse) {
  setTimeout(() => unavailable("3600")(response), 3000).unref();
}

/** Closes the connection without an answer, as a server that crashed or a proxy that cut it. */
function hangUp(response: ServerResponse) {
  response.socket?.destroy();
}

/** The connection reset with the body unread, as fetch sees Parley refuse a body past twice its limit. */
function cutUnread(response: ServerResponse) {
  response.socket?.resetAndDestroy();
}

function notConfirmed(response: ServerResponse) {
  response.writeHead(503, { "Content-Type": "application/problem+json", "Retry-After": "0" }).end(
    JSON.stringify({
      type: "https://parley.dev/problems/append-not-confirmed",
      title: "Append not confirmed",
      status: 503,
      detail: "the append may or may not be stored",
      instance: "/",
    }),
  );
}

function stored(response: ServerResponse) {
  const message: Message = {
    id: "42", conversation_id: "7", seq: 1, role: "user", user_id: "3", character_id: null, content: "hello",
    metadata: {}, attachments: [], reply_to_id: null, created_at: "2026-12-01T00:00:00Z", edited_at: null, deleted_at: null,
  };
  response.writeHead(201, { "Content-Type": "application/json" }).end(JSON.stringify(message));
}

/** The ParleyError a call throws; fails the test when it succeeds. */
async function rejection(call: Promise<unknown>): Promise<ParleyError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ParleyError, `a ParleyError, not ${String(error)}`);
    return error;
  }
  return assert.fail("the call succeeded");
}
