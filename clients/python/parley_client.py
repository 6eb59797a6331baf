"""Parley's Python client, on the standard library alone (urllib, json, dataclasses); Python 3.10+.

    from parley_client import Parley
    parley = Parley("http://127.0.0.1:8080", key)
    luna = parley.create_character("Luna", system_prompt="You are Luna, a calm astronomer.")
    ada = parley.upsert_user("ada", profile={"name": "Ada"})
    chat = parley.create_conversation(ada.id, luna.id)
    parley.append_message(chat.id, "user", "What is a nebula?", idempotency_key="turn-1")

The main resources come back as dataclasses; any other route is one `parley.request(...)` away, which
returns the answer's JSON. Ids are strings of digits, times ISO 8601 strings, as the API sends them.
A refused request raises ParleyError with the problem document's status, type, title and detail.
"""
from __future__ import annotations

import email.message
import email.utils
import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

__all__ = [
    "Character", "Context", "Conversation", "HistoryPage", "InboxEntry", "Memory", "MemoryHit", "Message", "Parley",
    "ParleyError", "Recalled", "RetryPolicy", "SearchHit", "User",
]

Json = dict[str, Any]
Headers = Mapping[str, str] | email.message.Message
"""An answer's headers: urllib's (looked up by any case) or a mapping."""
T = TypeVar("T")


class ParleyError(Exception):
    """A request Parley refused or failed: its status and problem document (RFC 9457)."""

    def __init__(self, status: int, problem: Mapping[str, Any], retry_after: float | None = None):
        self.status = status
        self.problem = dict(problem)
        self.type: str = str(problem.get("type", "about:blank")).rsplit("/", 1)[-1]  # "not-found", "invalid-request" ...
        self.title: str = str(problem.get("title", f"HTTP {status}"))
        self.detail: str = str(problem.get("detail", ""))
        self.request_id: str | None = problem.get("request_id")
        self.fields: list[str] = [error["field"] for error in problem.get("errors") or []]  # as sent: "messages[3].content"
        self.retry_after = retry_after  # seconds a 429's or 503's Retry-After asks to wait before sending again
        super().__init__(f"{status} {self.title}: {self.detail}" + (f" (request {self.request_id})" if self.request_id else ""))

    @classmethod
    def redirected(cls, answer: _Exchange) -> ParleyError:
        """A 3xx, not followed: Parley never redirects, and following it would hand the app key to wherever it points."""
        location = answer.headers.get("Location") or "nowhere (no Location header)"
        return cls(answer.status, {"title": answer.reason or f"HTTP {answer.status}", "detail":
                   f"the answer was a redirect to {location}, which the client does not follow: Parley never redirects, "
                   f"so the url given to Parley(...) is not where it listens (a proxy or load balancer answered)"})

    @classmethod
    def of(cls, answer: _Exchange) -> ParleyError:
        """The answer's problem document, or one that says what came instead (a proxy's HTML page)."""
        body = answer.body.decode("utf-8", "replace")
        try:
            problem = json.loads(body)
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or "title" not in problem:
            problem = {"title": answer.reason or f"HTTP {answer.status}", "detail": body[:500] or "the answer carried no problem document"}
        return cls(answer.status, problem, _retry_after(answer.headers))


@dataclass(frozen=True)
class RetryPolicy:
    """429 and 503 are retried after the Retry-After they carry: Parley ran nothing of such a request. An append whose
    outcome is unknown (503 append-not-confirmed) is retried only with its Idempotency-Key, which append_message
    always sends: without one it is raised, since the message may be stored. A request the network lost (refused,
    reset, closed before its answer) may have run: it is sent again only when that cannot store anything twice, a GET
    or HEAD, or a request with an Idempotency-Key. A timeout is raised, not retried: it is the caller's bound.
    Each wait is jittered: a random time between the least it may be (the Retry-After) and twice that, at most
    max_wait, so clients refused at once (a rate limit) do not all come back at the same instant."""

    retries: int = 3
    """Retries after the first attempt; 0 turns retrying off."""
    max_wait: float = 30.0
    """A Retry-After longer than this many seconds is not waited for: the 429 or 503 is raised. It caps the wait after
    a network error too (at least 1 s, then 2, 4 ...) and the jitter."""
    random: Callable[[], float] = random.random
    """A number in [0, 1) that places each wait between its least and twice that; tests pass their own."""

    def wait(self, status: int, headers: Headers, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when this error is the answer."""
        if status not in (429, 503) or attempt >= self.retries:
            return None
        seconds = 1.0 if headers.get("Retry-After") is None else _retry_after(headers)
        return None if seconds is None or seconds > self.max_wait else self._jittered(seconds)

    def wait_after_network_error(self, attempt: int) -> float | None:
        """Seconds to wait before sending again a request the network lost, or None when the retries are spent."""
        return None if attempt >= self.retries else self._jittered(min(2.0 ** attempt, self.max_wait))

    def _jittered(self, least: float) -> float:
        return min(least * (1 + self.random()), max(least, self.max_wait))


def _may_be_stored(request: urllib.request.Request, failure: ParleyError) -> bool:
    """An append whose outcome is unknown, sent without an Idempotency-Key: sent again, it could be stored twice."""
    return failure.type == "append-not-confirmed" and not request.has_header("Idempotency-key")  # urllib capitalizes names


def _may_resend(request: urllib.request.Request) -> bool:
    """Sent again after it may have run, it cannot be stored twice: a read, or Parley answers it by its key."""
    return request.get_method() in ("GET", "HEAD") or request.has_header("Idempotency-key")


def _lost(error: Exception) -> bool:
    """The network lost the request: the connection was refused, reset or closed before the whole answer came. Not a
    timeout, nor a name that does not resolve."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return isinstance(reason, (ConnectionError, http.client.IncompleteRead))


def _retry_after(headers: Headers) -> float | None:
    """Retry-After as seconds (a whole number of them, or an HTTP date; never below 0), or None when it says neither
    ("1.5", "-1"): such a 429 or 503 is raised, not retried, as the TypeScript client does."""
    header = headers.get("Retry-After")
    if header is None:
        return None
    if header.strip().isascii() and header.strip().isdigit():  # isdigit alone takes "²", which float() does not
        return float(header)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One attempt's answer as it came, whatever its status."""
    status: int
    reason: str
    headers: email.message.Message
    body: bytes


class _Answered(OSError):
    """The answer Parley wrote before closing a connection whose body was still going out (urllib raises it inside
    a URLError)."""

    def __init__(self, answer: _Exchange):
        super().__init__(f"{answer.status} {answer.reason}")
        self.answer = answer


class _AnswerBeforeBody:
    """A connection that, when Parley closes it while the body is still going out, stops sending and reads the answer
    Parley wrote before closing, instead of failing on the broken pipe: a 413 for a body past twice its limit, which
    it does not read; a 503 that stops an import. When no answer came, the broken pipe is raised, a lost connection."""

    def send(self, data: Any) -> None:
        try:
            super().send(data)  # type: ignore[misc]
        except (BrokenPipeError, ConnectionResetError) as cut:
            try:
                response = self.getresponse()  # type: ignore[attr-defined]
                answered = _Answered(_Exchange(response.status, response.reason, response.headers, response.read()))
            except (OSError, http.client.HTTPException):
                raise cut from None
            raise answered from cut


class _HttpConnection(_AnswerBeforeBody, http.client.HTTPConnection):
    pass


class _HttpsConnection(_AnswerBeforeBody, http.client.HTTPSConnection):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Parley never redirects: a 3xx comes from something in front of it (a proxy, a load balancer, a wrong url), and
    urllib's own handler would send the request, its Authorization header included, wherever Location points. The
    3xx is raised as a ParleyError instead, naming Location."""

    def redirect_request(self, *args: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError, which _attempt answers


class _HttpHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HttpConnection, req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HttpsConnection, req, context=self._context)  # type: ignore[attr-defined]


def _read(cls: type[T], data: Mapping[str, Any], **nested: Any) -> T:
    """A dataclass from the answer's JSON: fields it does not name are left out, so a newer server's additions do no harm."""
    given = {f.name: data[f.name] for f in fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**{**given, **nested})


@dataclass(frozen=True, slots=True)
class Character:
    id: str
    name: str
    system_prompt: str
    traits: Json
    metadata: Json
    suggested_messages: list[str]
    created_at: str
    updated_at: str
    version: int
    external_id: str | None = None  # the id an import gave it


@dataclass(frozen=True, slots=True)
class User:
    id: str
    external_id: str
    profile: Json
    counters: Json
    created_at: str
    updated_at: str
    version: int


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    user_id: str
    character_id: str
    character_ids: list[str]
    user_ids: list[str]
    is_group: bool
    language: str
    state: Json
    counters: Json
    message_count: int
    last_seq: int
    created_at: str
    last_activity_at: str
    updated_at: str
    version: int
    title: str | None = None
    external_id: str | None = None
    last_message: Json | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    seq: int
    role: str
    created_at: str
    metadata: Json | None = None
    attachments: list[Any] | Json | None = None  # any JSON the app sent, None when it sent none
    content: str | None = None
    user_id: str | None = None
    character_id: str | None = None
    reply_to_id: str | None = None
    edited_at: str | None = None
    deleted_at: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Messages oldest first; older_cursor pages back (as `before`), newer_cursor forward (as `after`)."""

    messages: list[Message]
    has_older: bool
    has_newer: bool
    older_cursor: str | None = None
    newer_cursor: str | None = None

    @classmethod
    def of(cls, data: Json) -> HistoryPage:
        return _read(cls, data, messages=[_read(Message, m) for m in data["messages"]])


@dataclass(frozen=True, slots=True)
class InboxEntry:
    conversation_id: str
    user_id: str
    character_id: str
    character_name: str
    is_group: bool
    guest: bool
    state: Json
    unread_count: int
    message_count: int
    last_activity_at: str
    counters: Json
    title: str | None = None
    last_message: Json | None = None
    character_metadata: Json | None = None


@dataclass(frozen=True, slots=True)
class Memory:
    id: str
    user_id: str
    character_id: str
    content: str
    importance: float
    language: str
    created_at: str
    updated_at: str
    metadata: Json | None = None
    conversation_id: str | None = None
    dims: int | None = None
    external_id: str | None = None  # the id an import gave it


@dataclass(frozen=True, slots=True)
class Recalled:
    memory: Memory
    similarity: float
    score: float

    @classmethod
    def of(cls, data: Json) -> Recalled:
        return _read(cls, data, memory=_read(Memory, data["memory"]))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that matched; snippet wraps the matched words in <mark></mark>, unescaped."""

    message_id: str
    conversation_id: str
    seq: int
    role: str
    rank: float
    snippet: str
    created_at: str
    user_id: str | None = None
    character_id: str | None = None


@dataclass(frozen=True, slots=True)
class MemoryHit:
    """A memory that matched a search; snippet wraps the matched words in <mark></mark>, unescaped."""

    memory: Memory
    rank: float
    snippet: str

    @classmethod
    def of(cls, data: Json) -> MemoryHit:
        return _read(cls, data, memory=_read(Memory, data["memory"]))


@dataclass(frozen=True, slots=True)
class Context:
    """What the next LLM call needs: messages are role/content(/name) dicts, the system prompt first."""

    conversation: Json
    character: Json
    user: Json
    messages: list[Json]
    memories: list[Json]


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer: its status, its headers (as sent; look them up with header()) and its JSON body, if any."""
    status: int
    headers: Mapping[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class Parley:
    """One app's client. Every call is one HTTP request (more when a 429 or 503 is retried)."""

    def __init__(self, url: str, key: str, *, retry: RetryPolicy = RetryPolicy(), timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = url.rstrip("/")
        self._key = key
        self._retry = retry
        self._timeout = timeout
        self._sleep = sleep  # tests pass their own, so they do not sleep
        self._opener = urllib.request.build_opener(_HttpHandler, _HttpsHandler, _NoRedirects)  # urllib's others, proxies included

    def __repr__(self) -> str:
        return f"Parley({self.url!r}, key='{self._key[:6]}...')"

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                headers: Mapping[str, str] | None = None) -> Any:
        """Any route: its JSON answer (None for a 204). Query values that are None are left out."""
        return self.send(method, path, query=query, body=body, headers=headers).body

    def send(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        """As request, with the status and headers too (ETag, Parley-Consistency, Idempotent-Replayed); a 304 to an
        If-None-Match is an Answer with no body, not an error."""
        request = urllib.request.Request(self.url + path + _query_string(query), method=method,
                                         data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
                                         headers={**self._headers("application/json" if body is not None else None),
                                                  **(headers or {})})
        return self._exchange(request, self._retry)

    def import_lines(self, lines: Iterable[Mapping[str, Any] | str]) -> Json:
        """POST /v1/import: the lines (dicts, or NDJSON lines as strings) streamed as they come, so an import of any
        size holds little of it in memory; answers the report (lines, imported, existing, rejected, first_rejected).
        Sent once: the lines may be an iterator the first attempt spent. An import is idempotent by external ids, so
        after a 429, a 503 (ParleyError.retry_after) or a network error, run it again with the same lines."""
        request = urllib.request.Request(self.url + "/v1/import", method="POST", data=_ndjson(lines),
                                         headers=self._headers("application/x-ndjson"))  # urllib sends it chunked
        report: Json = self._exchange(request, RetryPolicy(retries=0)).body
        return report

    def _headers(self, content_type: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "Accept": "application/json",
                **({} if content_type is None else {"Content-Type": content_type})}

    def _exchange(self, request: urllib.request.Request, retry: RetryPolicy) -> Answer:
        """The request's answer, sent again as `retry` allows; a 4xx or 5xx raised as ParleyError."""
        attempt = 0
        while True:
            try:
                answer = self._attempt(request)
            except (urllib.error.URLError, ConnectionError, http.client.IncompleteRead) as error:
                wait = retry.wait_after_network_error(attempt) if _lost(error) and _may_resend(request) else None
                if wait is None:
                    raise
            else:
                if 300 <= answer.status < 400 and answer.status != 304:
                    raise ParleyError.redirected(answer)
                if answer.status < 400:  # a 304 has no body
                    return Answer(answer.status, dict(answer.headers.items()), json.loads(answer.body) if answer.body else None)
                failure = ParleyError.of(answer)
                wait = None if _may_be_stored(request, failure) else retry.wait(answer.status, answer.headers, attempt)
                if wait is None:
                    raise failure
            self._sleep(wait)
            attempt += 1

    def _attempt(self, request: urllib.request.Request) -> _Exchange:
        """One attempt: its answer, whatever the status; a network error is raised."""
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _Exchange(response.status, response.reason, response.headers, response.read())
        except urllib.error.HTTPError as error:
            try:
                return _Exchange(error.code, error.reason, error.headers, error.read())
            finally:
                error.close()
        except urllib.error.URLError as error:
            if isinstance(error.reason, _Answered):
                return error.reason.answer
            raise

    def pages(self, path: str, *, query: Mapping[str, Any] | None = None) -> Iterator[Json]:
        """Every page of a list route, following next_cursor until it is null."""
        cursor = None
        while True:
            page = self.request("GET", path, query={**(query or {}), "cursor": cursor})
            yield page
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    def create_character(self, name: str, *, system_prompt: str | None = None, traits: Json | None = None,
                         metadata: Json | None = None) -> Character:
        body = _given(name=name, system_prompt=system_prompt, traits=traits, metadata=metadata)
        return _read(Character, self.request("POST", "/v1/characters", body=body))

    def get_character(self, character_id: str) -> Character:
        return _read(Character, self.request("GET", f"/v1/characters/{_id(character_id)}"))

    def upsert_user(self, external_id: str, *, profile: Json | None = None) -> User:
        """Creates the user with this external id, or, when it exists, replaces its profile with the one given."""
        return _read(User, self.request("POST", "/v1/users", body=_given(external_id=external_id, profile=profile)))

    def create_conversation(self, user_id: str, character_id: str | None = None, *,
                            character_ids: list[str] | None = None, **optional: Any) -> Conversation:
        """A direct chat with character_id, or a group chat with character_ids (the first leads): one of the two.
        optional: title, state, language, external_id, counters, created_at."""
        if (character_id is None) == (character_ids is None):
            raise ValueError("give character_id (a direct chat) or character_ids (a group chat), one of the two")
        body = _given(user_id=user_id, character_id=character_id, character_ids=character_ids) | optional
        return _read(Conversation, self.request("POST", "/v1/conversations", body=body))

    def get_conversation(self, conversation_id: str) -> Conversation:
        return _read(Conversation, self.request("GET", f"/v1/conversations/{_id(conversation_id)}"))

    def append_message(self, conversation_id: str, role: str, content: str, *, idempotency_key: str | None = None,
                       **optional: Any) -> Message:
        """Appends under an Idempotency-Key (a new one unless given): sent again with the same key (after a timeout,
        a 503, a restart) it returns the message stored the first time. optional: character_id, user_id, metadata,
        attachments, reply_to_id."""
        key = idempotency_key or uuid.uuid4().hex
        answer = self.request("POST", f"/v1/conversations/{_id(conversation_id)}/messages",
                              body={"role": role, "content": content, **optional}, headers={"Idempotency-Key": key})
        return _read(Message, answer)

    def history(self, conversation_id: str, *, limit: int = 50) -> Iterator[HistoryPage]:
        """The conversation's history from the latest page back to the first message; each page is oldest first."""
        before = None
        while True:
            page = HistoryPage.of(self.request("GET", f"/v1/conversations/{_id(conversation_id)}/messages",
                                               query={"limit": limit, "before": before}))
            yield page
            before = page.older_cursor if page.has_older else None
            if before is None:
                return

    def inbox(self, user_id: str, *, limit: int = 20) -> Iterator[InboxEntry]:
        """The user's conversations by last activity, newest first, through every page."""
        for page in self.pages(f"/v1/users/{_id(user_id)}/inbox", query={"limit": limit}):
            yield from (_read(InboxEntry, entry) for entry in page["conversations"])

    def search_messages(self, q: str, **filters: Any) -> Iterator[SearchHit]:
        """Messages matching q (web-search syntax), best first, through every page. filters: user_id,
        conversation_id, language, order ("relevance" or "recent"), include_archived, limit."""
        for page in self.pages("/v1/search/messages", query={"q": q, **filters}):
            yield from (_read(SearchHit, hit) for hit in page["hits"])

    def search_memories(self, q: str, user_id: str, **filters: Any) -> Iterator[MemoryHit]:
        """The user's memories matching q (web-search syntax), best first, through every page. filters: character_id,
        language, order ("relevance" or "recent": latest created_at first), limit."""
        for page in self.pages("/v1/search/memories", query={"q": q, "user_id": user_id, **filters}):
            yield from (MemoryHit.of(hit) for hit in page["hits"])

    def create_memory(self, user_id: str, character_id: str, content: str, **optional: Any) -> Memory:
        """optional: importance (0-1), embedding (a list of numbers, or the base64 of its little-endian float32 values:
        numpy's vector.astype("<f4").tobytes(), cheaper for both sides), conversation_id, metadata, language."""
        body = {"character_id": character_id, "content": content, **optional}
        return _read(Memory, self.request("POST", f"/v1/users/{_id(user_id)}/memories", body=body))

    def recall(self, user_id: str, character_id: str, embedding: list[float] | str, **optional: Any) -> list[Recalled]:
        """The user's memories of the character nearest the embedding (a list of numbers, or the base64 of its
        little-endian float32 values, as create_memory takes it), best first. optional: limit, min_similarity,
        adaptive, conversation_id, and the weights of recency, importance and conversation."""
        body = {"character_id": character_id, "embedding": embedding, **optional}
        answer = self.request("POST", f"/v1/users/{_id(user_id)}/memories/recall", body=body)
        return [Recalled.of(recalled) for recalled in answer["memories"]]

    def context(self, conversation_id: str, *, messages: int | None = None, memory_query: str | None = None,
                character_id: str | None = None, user_id: str | None = None, memories: int | None = None,
                memories_of: str | None = None) -> Context:
        """In a group, character_id is who speaks next and user_id whom it answers (their profile and memories);
        memories_of="everyone" adds the memories of each other person who wrote one of the messages."""
        query = {"messages": messages, "memory_query": memory_query, "character_id": character_id, "user_id": user_id,
                 "memories": memories, "memories_of": memories_of}
        return _read(Context, self.request("GET", f"/v1/conversations/{_id(conversation_id)}/context", query=query))


def _given(**values: Any) -> Json:
    return {name: value for name, value in values.items() if value is not None}


def _ndjson(lines: Iterable[Mapping[str, Any] | str]) -> Iterator[bytes]:
    """The lines as NDJSON, in chunks of about 64 KiB: one per line would be a chunk header and a write per line."""
    chunk = bytearray()
    for line in lines:
        text = line.removesuffix("\n") if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
        chunk += text.encode() + b"\n"
        if len(chunk) >= 64 * 1024:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)


def _id(value: str) -> str:
    """An id in a path, quoted: a wrong one is Parley's 400 or 404, never another route."""
    return urllib.parse.quote(str(value), safe="")


def _query_string(query: Mapping[str, Any] | None) -> str:
    """Booleans as true/false, lists comma-separated (ids=3,1) and objects as JSON, as Parley reads them; None is left
    out."""
    pairs = {name: _query_value(value) for name, value in (query or {}).items() if value is not None}
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_query_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
