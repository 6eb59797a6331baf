#!/usr/bin/env python3
"""A group's context with everyone's memories against the person answered's alone (docs/benchmarks.md,
"A group's context for everyone").

    parley serve --data-dir DIR --port 18090
    PARLEY_KEY=pk_... python3 docs/measure/context-everyone.py            # memories chosen by words
    PARLEY_KEY=pk_... python3 docs/measure/context-everyone.py embedding  # by similarity to an embedding

Makes a group of ten people with one character, 200 memories each (a tenth of them name each of ten
words), and 40 messages (each person speaks twice, the character answers each time); then asks for its
context with memory_query=cello, memories=5, one request at a time, 300 timed after 30 unmeasured, for
memories_of=user and memories_of=everyone in turn, three times. With "embedding", each memory has a
768-number embedding near the direction of its first word, and the context is a POST with the embedding of
"cello" (base64) in place of memory_query.
"""
import base64, json, os, random, statistics, struct, sys, time, urllib.request

KEY = os.environ["PARLEY_KEY"]
BASE = os.environ.get("PARLEY_URL", "http://127.0.0.1:18090")
WORDS = ["cello", "stars", "coffee", "dogs", "rain", "music", "train", "garden", "chess", "paint"]
BY_EMBEDDING = sys.argv[1:] == ["embedding"]
DIMS = 768


def unit(vector):
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def direction(word):
    seeded = random.Random(word)
    return unit([seeded.gauss(0, 1) for _ in range(DIMS)])


DIRECTIONS = {word: direction(word) for word in WORDS}


def embedding_of(word, noise):
    return unit([x + random.gauss(0, noise / DIMS ** 0.5) for x in DIRECTIONS[word]])


def base64_of(vector):
    return base64.b64encode(struct.pack("<%df" % len(vector), *vector)).decode()


def call(method, path, body=None):
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def group(tag):
    luna = call("POST", "/v1/characters", {"name": "Luna", "system_prompt": "You are Luna."})["id"]
    people = [call("POST", "/v1/users", {"external_id": f"{tag}-{i}", "profile": {"name": f"P{i}"}})["id"] for i in range(10)]
    conversation = call("POST", "/v1/conversations", {"user_id": people[0], "character_ids": [luna]})["id"]
    for person in people[1:]:
        call("POST", f"/v1/conversations/{conversation}/members", {"user_id": person})
    for person in people:
        for n in range(200):
            first, second = random.choice(WORDS), random.choice(WORDS)
            memory = {"character_id": luna, "content": f"likes {first} and {second}, note {n}"}
            if BY_EMBEDDING:
                memory["embedding"] = base64_of(embedding_of(first, 1.0))
            call("POST", f"/v1/users/{person}/memories", memory)
    for turn in range(20):
        call("POST", f"/v1/conversations/{conversation}/messages", {"role": "user", "content": f"hello {turn}",
                                                                     "user_id": people[turn % 10]})
        call("POST", f"/v1/conversations/{conversation}/messages", {"role": "assistant", "content": f"hi {turn}"})
    return conversation


def timed(path, body, count=300):
    method = "GET" if body is None else "POST"
    for _ in range(30):
        call(method, path, body)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        memories = call(method, path, body)["memories"]
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(count * 0.99) - 1], len(memories)


random.seed(7)
conversation = group(f"m{int(time.time())}")
path = f"/v1/conversations/{conversation}/context"
query = base64_of(embedding_of("cello", 0.5))
for _ in range(3):
    for whose in ("user", "everyone"):
        if BY_EMBEDDING:
            p50, p99, found = timed(path, {"messages": 20, "memory_embedding": query, "memories": 5, "memories_of": whose})
        else:
            p50, p99, found = timed(path + "?messages=20&memory_query=cello&memories=5&memories_of=" + whose, None)
        print(f"memories_of={whose}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {found} memories")
