"""A chat app's program against a live Parley (PARLEY_URL, PARLEY_KEY), then the retry policy against a tiny
local server that answers 503 first. Run with `python3 -m unittest -v test_parley_client` in this folder."""
from __future__ import annotations

import base64
import dataclasses
import datetime
import importlib.util
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import types
import typing
import unittest
import urllib.error
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import parley_client
from parley_client import Parley, ParleyError, RetryPolicy

_MAX_BODY = 8 << 20  # PARLEY_MAX_BODY's default, which the suite's Parley keeps


class ChatProgramTest(unittest.TestCase):
    """Each test writes its own messages; the character, user and conversation are shared."""

    @classmethod
    def setUpClass(cls) -> None:
        url, key = os.environ.get("PARLEY_URL"), os.environ.get("PARLEY_KEY")
        if not url or not key:
            raise RuntimeError("set PARLEY_URL (http://127.0.0.1:8080) and PARLEY_KEY (an app key from `parley apps create`)")
        cls.parley = Parley(url, key)
        cls.luna = cls.parley.create_character("Luna", system_prompt="You are Luna, a calm astronomer.")
        cls.ada = cls.parley.upsert_user(f"ada-{uuid.uuid4()}", profile={"name": "Ada"})
        cls.chat = cls.parley.create_conversation(cls.ada.id, cls.luna.id, title="Stargazing")

    def test_an_append_sent_again_with_its_idempotency_key_returns_the_message_stored_the_first_time(self) -> None:
        first = self.parley.append_message(self.chat.id, "user", "What is a nebula?", idempotency_key="turn-1")
        retried = self.parley.append_message(self.chat.id, "user", "What is a nebula?", idempotency_key="turn-1")
        reply = self.parley.append_message(self.chat.id, "assistant", "A cloud of gas and dust.", character_id=self.luna.id)

        self.assertEqual(retried, first)
        self.assertEqual(reply.seq, first.seq + 1)

    def test_a_list_in_a_query_goes_comma_separated_as_parley_reads_ids(self) -> None:
        orion = self.parley.create_character("Orion")

        found = self.parley.request("GET", "/v1/characters", query={"ids": [orion.id, self.luna.id, "987654321"]})

        self.assertEqual(sorted(c["id"] for c in found["characters"]), sorted([self.luna.id, orion.id]))

    def test_a_group_chat_is_made_with_character_ids_and_leads_with_the_first(self) -> None:
        orion = self.parley.create_character("Orion")
        group = self.parley.create_conversation(self.ada.id, character_ids=[self.luna.id, orion.id])

        self.assertTrue(group.is_group)
        self.assertEqual(group.character_id, self.luna.id)
        with self.assertRaises(ValueError):
            self.parley.create_conversation(self.ada.id, self.luna.id, character_ids=[orion.id])

    def test_send_gives_the_etag_and_a_304_once_the_client_holds_the_current_version(self) -> None:
        first = self.parley.send("GET", f"/v1/conversations/{self.chat.id}")
        etag = first.header("ETag")
        again = self.parley.send("GET", f"/v1/conversations/{self.chat.id}", headers={"If-None-Match": etag})

        self.assertEqual(first.status, 200)
        self.assertEqual(first.body["id"], self.chat.id)
        self.assertEqual((again.status, again.body), (304, None))

    def test_history_pages_back_through_older_cursors_to_the_first_message(self) -> None:
        paged = self.parley.create_conversation(self.ada.id, self.luna.id)
        sent = [self.parley.append_message(paged.id, "user" if i % 2 else "assistant", f"message {i}") for i in range(1, 8)]

        pages = [page.messages for page in self.parley.history(paged.id, limit=3)]

        self.assertEqual([len(page) for page in pages], [3, 3, 1])
        self.assertEqual([m.id for page in reversed(pages) for m in page], [m.id for m in sent])

    def test_the_inbox_through_every_page_lists_the_users_conversations_with_their_last_message(self) -> None:
        self.parley.create_conversation(self.ada.id, self.luna.id, title="Another night")
        self.parley.append_message(self.chat.id, "user", "Show me Orion.")

        entries = list(self.parley.inbox(self.ada.id, limit=1))

        self.assertGreaterEqual(len(entries), 2)
        chat = next(entry for entry in entries if entry.conversation_id == self.chat.id)
        self.assertEqual(chat.last_message["preview"], "Show me Orion.")

    def test_search_finds_a_message_by_its_words(self) -> None:
        said = self.parley.append_message(self.chat.id, "user", "Is Betelgeuse going supernova?")

        hits = list(self.parley.search_messages("betelgeuse", conversation_id=self.chat.id))

        self.assertEqual([hit.message_id for hit in hits], [said.id])
        self.assertIn("<mark>Betelgeuse</mark>", hits[0].snippet)

    def test_memory_search_pages_through_every_hit_in_either_order(self) -> None:
        older = self.parley.create_memory(self.ada.id, self.luna.id, "Saw a comet as a child", created_at="2001-04-01T00:00:00Z")
        comets = [self.parley.create_memory(self.ada.id, self.luna.id, f"Wants to see comet {n}") for n in range(3)]

        best = list(self.parley.search_memories("comet", self.ada.id, limit=2))
        recent = list(self.parley.search_memories("comet", self.ada.id, order="recent", limit=1))

        self.assertEqual(sorted(hit.memory.id for hit in best), sorted([older.id] + [m.id for m in comets]))
        self.assertEqual([hit.memory.id for hit in recent], [m.id for m in reversed(comets)] + [older.id])
        self.assertIn("<mark>comet</mark>", recent[0].snippet)

    def test_a_memory_is_stored_recalled_by_its_embedding_and_given_in_the_context(self) -> None:
        self.parley.append_message(self.chat.id, "user", "Which telescope should I take tonight?")
        memory = self.parley.create_memory(self.ada.id, self.luna.id, "Ada's telescope is a 6-inch Dobsonian",
                                           importance=0.8, embedding=[1, 0, 0])

        recalled = self.parley.recall(self.ada.id, self.luna.id, [0.9, 0.1, 0], limit=3)
        context = self.parley.context(self.chat.id, messages=10, memory_query="telescope")

        self.assertEqual(recalled[0].memory, memory)
        self.assertEqual(context.character["name"], "Luna")
        self.assertEqual([m["id"] for m in context.memories], [memory.id])
        self.assertEqual(context.messages[0]["role"], "system")
        self.assertIn("Which telescope should I take tonight?", [m["content"] for m in context.messages])

    def test_what_parley_answers_has_the_types_the_dataclasses_declare(self) -> None:
        bare = self.parley.append_message(self.chat.id, "user", "Look, a meteor!")  # no metadata, no attachments
        framed = self.parley.append_message(self.chat.id, "user", "My photo", attachments={"image": "meteor.jpg"})
        memory = self.parley.create_memory(self.ada.id, self.luna.id, "Ada saw a meteor", embedding=_base64([0, 1, 0]))
        recalled = self.parley.recall(self.ada.id, self.luna.id, _base64([0, 0.9, 0.1]), limit=1)
        hits = list(self.parley.search_memories("meteor", self.ada.id))
        entries = list(self.parley.inbox(self.ada.id))
        raw = self.parley.request("GET", f"/v1/users/{self.ada.id}/inbox")["conversations"][0]

        for value in [bare, framed, memory, *recalled, *hits, *entries, *self.parley.history(self.chat.id, limit=5)]:
            _assert_as_declared(self, value)
        self.assertEqual(recalled[0].memory.id, memory.id)
        self.assertEqual(next(e for e in entries if e.conversation_id == raw["conversation_id"]).counters, raw["counters"])
        self.assertEqual(entries[0].character_metadata, raw["character_metadata"])

    @unittest.skipUnless(importlib.util.find_spec("mypy"), "mypy is not installed")
    def test_the_module_type_checks_under_mypy_strict(self) -> None:
        run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "parley_client.py"], capture_output=True, text=True)

        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_in_a_group_the_context_answers_the_guest_it_is_asked_for(self) -> None:
        group = self.parley.create_conversation(self.ada.id, self.luna.id)
        bo = self.parley.upsert_user(f"bo-{uuid.uuid4()}", profile={"name": "Bo"})
        self.parley.request("POST", f"/v1/conversations/{group.id}/members", body={"user_id": bo.id})
        memory = self.parley.create_memory(bo.id, self.luna.id, "Bo builds telescopes")

        context = self.parley.context(group.id, user_id=bo.id, memory_query="telescope")

        self.assertEqual(context.user["profile"]["name"], "Bo")
        self.assertEqual([m["id"] for m in context.memories], [memory.id])

    def test_a_body_over_twice_the_limit_raises_parley_error_413_though_parley_closes_before_reading_it(self) -> None:
        with self.assertRaises(ParleyError) as raised:
            self.parley.create_character("Luna", system_prompt="x" * (2 * _MAX_BODY + 1024))

        self.assertEqual((raised.exception.status, raised.exception.type), (413, "payload-too-large"))

    def test_an_import_streams_its_lines_answers_the_report_and_run_again_adds_nothing(self) -> None:
        run = uuid.uuid4().hex
        march = datetime.datetime(2025, 3, 1, 10, tzinfo=datetime.timezone.utc)

        def lines():  # a generator, as an export read from another store would be: ~150 KB, three chunks
            yield {"type": "character", "external_id": f"luna-{run}", "name": "Luna"}
            yield {"type": "user", "external_id": f"tg-{run}"}
            yield {"type": "conversation", "external_id": f"chat-{run}", "user": f"tg-{run}", "character": f"luna-{run}",
                   "created_at": march.isoformat()}
            for i in range(1, 1001):
                yield {"type": "message", "conversation": f"chat-{run}", "external_id": f"m{i}", "role": "user",
                       "content": f"message {i} from March", "created_at": (march + datetime.timedelta(seconds=i)).isoformat()}
            yield json.dumps({"type": "message", "conversation": f"chat-{run}", "external_id": "m0", "role": "narrator",
                              "content": "x", "created_at": (march + datetime.timedelta(hours=2)).isoformat()}) + "\n"

        first = self.parley.import_lines(lines())
        again = self.parley.import_lines(lines())

        self.assertEqual(first["lines"], 1004)
        self.assertEqual(first["imported"], {"characters": 1, "users": 1, "conversations": 1, "messages": 1000, "memories": 0})
        self.assertEqual([rejected["line"] for rejected in first["first_rejected"]], [1004])
        self.assertEqual(again["existing"]["messages"], 1000)
        self.assertEqual(again["imported"]["messages"], 0)

    def test_an_unknown_id_raises_parley_error_404_not_found(self) -> None:
        with self.assertRaises(ParleyError) as raised:
            self.parley.get_conversation("999999999")

        self.assertEqual((raised.exception.status, raised.exception.type), (404, "not-found"))
        self.assertIn("999999999", raised.exception.detail)

    def test_a_wrong_field_raises_parley_error_400_that_names_it(self) -> None:
        with self.assertRaises(ParleyError) as raised:
            self.parley.append_message(self.chat.id, "narrator", "Once upon a time")

        self.assertEqual((raised.exception.status, raised.exception.type), (400, "invalid-request"))
        self.assertEqual(raised.exception.fields, ["role"])


Answer = Callable[[BaseHTTPRequestHandler], None]


class RetryTest(unittest.TestCase):
    """Against a local server that answers what each test queues: no Parley needed."""

    def setUp(self) -> None:
        self.answers: list[Answer] = []
        self.received: list[tuple[str | None, bytes]] = []
        self.waits: list[float] = []
        test = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                test.received.append((self.headers.get("Idempotency-Key"), body))
                (test.answers.pop(0) if test.answers else unavailable("10"))(self)

            def log_message(self, *args: object) -> None:
                pass  # the test's output stays the test's

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # polls for shutdown every 50 ms
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.parley = Parley(f"http://127.0.0.1:{self.server.server_port}", "pk_test", retry=RetryPolicy(retries=2, random=lambda: 0.0),
                             sleep=self.waits.append)  # no jitter: each wait is the least the policy allows

    def test_a_503_with_retry_after_1_is_sent_again_with_the_same_key_and_body_after_the_second_it_asks_for(self) -> None:
        self.answers += [unavailable("1"), stored]

        message = self.parley.append_message("7", "user", "hello", idempotency_key="key-1")

        self.assertEqual(message.id, "42")
        self.assertEqual(self.waits, [1.0])
        self.assertEqual([key for key, _ in self.received], ["key-1", "key-1"])
        self.assertEqual(self.received[0][1], self.received[1][1])

    def test_an_append_whose_outcome_is_unknown_is_sent_again_only_with_its_idempotency_key(self) -> None:
        self.answers += [not_confirmed, stored, not_confirmed]

        self.parley.request("POST", "/v1/conversations/7/messages", body={"content": "hello"}, headers={"Idempotency-Key": "k"})
        with self.assertRaises(ParleyError) as unsure:
            self.parley.request("POST", "/v1/conversations/7/messages/batch", body={"messages": [{"content": "hello"}]})

        self.assertEqual(unsure.exception.type, "append-not-confirmed")
        self.assertEqual([key for key, _ in self.received], ["k", "k", None], "the keyless batch was sent once")

    def test_a_body_goes_as_utf_8_not_as_json_escapes(self) -> None:
        self.answers += [stored]

        self.parley.request("POST", "/v1/conversations/7/messages", body={"content": "🌍 ünïcode"})

        self.assertIn("🌍 ünïcode".encode(), self.received[0][1])

    def test_a_characters_messages_page_back_through_cursor_as_every_list_does(self) -> None:
        queries: list[str] = []
        self.answers += [lambda h: (queries.append(h.path), respond(h, 200, "application/json", {"messages": [], "next_cursor": "c1"})),
                         lambda h: (queries.append(h.path), respond(h, 200, "application/json", {"messages": [], "next_cursor": None}))]

        list(self.parley.pages("/v1/characters/5/messages"))

        self.assertEqual(queries, ["/v1/characters/5/messages", "/v1/characters/5/messages?cursor=c1"])

    def test_a_429s_and_a_503s_retry_after_reach_the_parley_error_as_seconds(self) -> None:
        self.answers += [too_many("2"), unavailable("3600")]

        with self.assertRaises(ParleyError) as limited:
            Parley(self.parley.url, "pk_test", retry=RetryPolicy(retries=0)).get_character("1")
        with self.assertRaises(ParleyError) as unavailable_long:
            self.parley.get_character("1")

        self.assertEqual((limited.exception.status, limited.exception.retry_after), (429, 2.0))
        self.assertEqual((unavailable_long.exception.status, unavailable_long.exception.retry_after), (503, 3600.0))

    def test_an_append_whose_connection_closes_before_its_answer_is_sent_again_with_the_key_it_was_given(self) -> None:
        self.answers += [hang_up, stored]

        message = self.parley.append_message("7", "user", "hello")

        self.assertEqual(message.id, "42")
        self.assertEqual(len(self.received), 2)
        self.assertIsNotNone(self.received[0][0])
        self.assertEqual(self.received[1], self.received[0], "the same key and body")
        self.assertEqual(self.waits, [1.0])

    def test_a_get_lost_to_the_network_is_sent_again_1_s_then_2_s_later_up_to_the_policys_count(self) -> None:
        self.answers += [hang_up, hang_up, hang_up]

        with self.assertRaises(ConnectionError):
            self.parley.get_character("1")

        self.assertEqual(len(self.received), 3)
        self.assertEqual(self.waits, [1.0, 2.0])

    def test_a_refused_connection_is_tried_again_then_raised(self) -> None:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]  # closed before the client connects: nothing listens there
        refused = Parley(f"http://127.0.0.1:{port}", "pk_test", retry=RetryPolicy(retries=2, random=lambda: 0.0), sleep=self.waits.append)

        with self.assertRaises(urllib.error.URLError) as raised:
            refused.append_message("7", "user", "hello")

        self.assertIsInstance(raised.exception.reason, ConnectionRefusedError)
        self.assertEqual(self.waits, [1.0, 2.0])

    def test_a_request_without_an_idempotency_key_that_may_have_run_is_not_sent_again_after_a_network_error(self) -> None:
        self.answers += [hang_up]

        with self.assertRaises(ConnectionError):
            self.parley.request("POST", "/v1/conversations/7/messages/batch", body={"messages": [{"content": "hello"}]})

        self.assertEqual(len(self.received), 1)
        self.assertEqual(self.waits, [])

    def test_an_import_parley_stops_raises_its_503_at_once_and_is_neither_read_through_nor_sent_again(self) -> None:
        self.answers += [unavailable("5")]  # answered before the body is read, as Parley answers a busy database
        read: list[int] = []

        def lines():  # 200 MB, were they all read
            for i in range(200_000):
                read.append(i)
                yield {"type": "user", "external_id": f"u{i}", "profile": {"bio": "x" * 1000}}

        with self.assertRaises(ParleyError) as stopped:
            self.parley.import_lines(lines())

        self.assertEqual((stopped.exception.status, stopped.exception.retry_after), (503, 5.0))
        self.assertLess(len(read), 20_000, "the lines stop being read once Parley has answered")
        self.assertEqual((len(self.received), self.waits), (1, []))

    def test_waits_are_spread_between_the_least_and_twice_it_never_past_max_wait_so_clients_do_not_retry_in_lockstep(self) -> None:
        halfway = Parley(self.parley.url, "pk_test", retry=RetryPolicy(retries=2, max_wait=30, random=lambda: 0.5),
                         sleep=self.waits.append)
        self.answers += [too_many("1"), too_many("25"), stored, hang_up, stored]

        halfway.append_message("7", "user", "hello")
        halfway.append_message("7", "user", "hello")

        self.assertEqual(self.waits, [1.5, 30.0, 1.5], "Retry-After 1, then 25 (at most max_wait), then a lost connection's 1 s")

    def test_a_retry_after_that_is_neither_whole_seconds_nor_an_http_date_is_not_waited_on_the_error_is_raised(self) -> None:
        self.answers += [unavailable("1.5"), unavailable("-1"), unavailable("\u00b2")]  # a superscript 2, which str.isdigit takes

        raised = []
        for _ in range(3):
            with self.assertRaises(ParleyError) as unreadable:
                self.parley.get_character("1")
            raised.append((unreadable.exception.status, unreadable.exception.retry_after))

        self.assertEqual(raised, [(503, None)] * 3)
        self.assertEqual((len(self.received), self.waits), (3, []))

    def test_a_redirect_is_raised_naming_its_location_and_the_key_never_goes_where_it_points(self) -> None:
        elsewhere: list[str | None] = []

        class Elsewhere(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                elsewhere.append(self.headers.get("Authorization"))
                respond(self, 200, "application/json", {"id": "1"})

            def log_message(self, *args: object) -> None:
                pass

        other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
        threading.Thread(target=other.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(other.server_close)
        self.addCleanup(other.shutdown)
        location = f"http://127.0.0.1:{other.server_port}/v1/characters/1"
        self.answers += [lambda h: respond(h, 302, "text/html", {}, {"Location": location})]

        with self.assertRaises(ParleyError) as redirected:
            self.parley.get_character("1")

        self.assertEqual(redirected.exception.status, 302)
        self.assertIn(location, str(redirected.exception))
        self.assertEqual(elsewhere, [], "the redirect was not followed, so the app key went nowhere else")
        self.assertEqual(len(self.received), 1, "nor sent again")

    def test_retries_stop_at_the_policys_count_and_at_a_retry_after_longer_than_it_waits(self) -> None:
        self.answers += [unavailable("1"), unavailable("1"), unavailable("1"), unavailable("3600")]

        with self.assertRaises(ParleyError) as spent:
            self.parley.get_character("1")
        with self.assertRaises(ParleyError) as too_long:
            self.parley.get_character("1")

        self.assertEqual((spent.exception.status, spent.exception.type), (503, "pool-saturated"))
        self.assertEqual(self.waits, [1.0, 1.0])
        self.assertEqual(too_long.exception.status, 503)
        self.assertEqual(len(self.received), 4)


def _base64(embedding: list[float]) -> str:
    """An embedding as Parley takes it most cheaply: the base64 of its little-endian float32 values."""
    return base64.b64encode(struct.pack(f"<{len(embedding)}f", *embedding)).decode()


def _assert_as_declared(test: unittest.TestCase, value: object) -> None:
    """Each field of the dataclass (and of those nested in it) holds what its type hint says."""
    hints = typing.get_type_hints(type(value), vars(parley_client))
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        held = getattr(value, field.name)
        test.assertTrue(_conforms(held, hints[field.name]),
                        f"{type(value).__name__}.{field.name} is {held!r}, not a {hints[field.name]}")
        if dataclasses.is_dataclass(held):
            _assert_as_declared(test, held)
        for item in held if isinstance(held, list) else []:
            if dataclasses.is_dataclass(item):
                _assert_as_declared(test, item)


def _conforms(value: object, hint: object) -> bool:
    if hint is typing.Any:
        return True
    if hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, origin or hint)  # type: ignore[arg-type]


def not_confirmed(handler: BaseHTTPRequestHandler) -> None:
    respond(handler, 503, "application/problem+json", {
        "type": "https://parley.dev/problems/append-not-confirmed", "title": "Append not confirmed", "status": 503,
        "detail": "the append may or may not be stored", "instance": "/"}, {"Retry-After": "0"})


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Closes the connection without an answer, as a server that crashed or a proxy that cut it."""
    handler.close_connection = True


def too_many(retry_after: str) -> Answer:
    return lambda handler: respond(handler, 429, "application/problem+json", {
        "type": "https://parley.dev/problems/rate-limited", "title": "Too many requests", "status": 429,
        "detail": "the app sent more requests than its limit", "instance": "/"}, {"Retry-After": retry_after})


def unavailable(retry_after: str) -> Answer:
    return lambda handler: respond(handler, 503, "application/problem+json", {
        "type": "https://parley.dev/problems/pool-saturated", "title": "Service unavailable", "status": 503,
        "detail": "no database connection came free", "instance": "/"}, {"Retry-After": retry_after})


def stored(handler: BaseHTTPRequestHandler) -> None:
    respond(handler, 201, "application/json", {
        "id": "42", "conversation_id": "7", "seq": 1, "role": "user", "content": "hello", "metadata": {},
        "attachments": [], "created_at": "2026-12-01T00:00:00Z"})


def respond(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


if __name__ == "__main__":
    unittest.main()
