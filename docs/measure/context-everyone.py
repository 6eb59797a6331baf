#!/usr/bin/env python3
"""A group's context with everyone's memories against the person answered's alone (docs/benchmarks.md,
"A group's context for everyone").

    parley serve --data-dir DIR --port 18090
    PARLEY_KEY=pk_... python3 docs/measure/context-everyone.py

Makes a group of ten people with one character, 200 memories each (a tenth of them name each of ten
words), and 40 messages (each person speaks twice, the character answers each time); then asks for its
context with memory_query=cello, memories=5, one request at a time, 300 timed after 30 unmeasured, for
memories_of=user and memories_of=everyone in turn, three times.
"""
import json, os, random, statistics, time, urllib.request

KEY = os.environ["PARLEY_KEY"]
BASE = os.environ.get("PARLEY_URL", "http://127.0.0.1:18090")
WORDS = ["cello", "stars", "coffee", "dogs", "rain", "music", "train", "garden", "chess", "paint"]


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
            call("POST", f"/v1/users/{person}/memories",
                 {"character_id": luna, "content": f"likes {random.choice(WORDS)} and {random.choice(WORDS)}, note {n}"})
    for turn in range(20):
        call("POST", f"/v1/conversations/{conversation}/messages", {"role": "user", "content": f"hello {turn}",
                                                                     "user_id": people[turn % 10]})
        call("POST", f"/v1/conversations/{conversation}/messages", {"role": "assistant", "content": f"hi {turn}"})
    return conversation


def timed(path, count=300):
    for _ in range(30):
        call("GET", path)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        memories = call("GET", path)["memories"]
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(count * 0.99) - 1], len(memories)


random.seed(7)
conversation = group(f"m{int(time.time())}")
path = f"/v1/conversations/{conversation}/context?messages=20&memory_query=cello&memories=5"
for _ in range(3):
    for whose in ("user", "everyone"):
        p50, p99, found = timed(path + "&memories_of=" + whose)
        print(f"memories_of={whose}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {found} memories")
