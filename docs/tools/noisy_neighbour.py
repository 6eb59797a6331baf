#!/usr/bin/env python3
"""Two apps on one Parley: app A posts 1,000-message batches of long messages from 10 clients, app B appends one
message every 50 ms; prints B's answers and latencies, and A's. Usage: docs/tools/noisy_neighbour.py BASE KEY_A KEY_B [SECONDS] (docs/benchmarks.md, "Large batches in a lane of their own")"""
import json, sys, threading, time, urllib.request, urllib.error, statistics

base, key_a, key_b = sys.argv[1], sys.argv[2], sys.argv[3]
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 25

def call(key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read() or b"null")
        return e.code, body

def conversation(key, name):
    _, user = call(key, "POST", "/v1/users", {"external_id": name})
    _, character = call(key, "POST", "/v1/characters", {"name": "C-" + name})
    _, conv = call(key, "POST", "/v1/conversations", {"user_id": user["id"], "character_id": character["id"]})
    return conv["id"]

line = ("lorem ipsum dolor sit amet " * 300)[:7300]
stop = time.monotonic() + seconds
results = {"A": [], "B": []}
lock = threading.Lock()

def flood(i):
    conv = conversation(key_a, "flood-%d-%d" % (i, time.time_ns()))
    batch = {"messages": [{"role": "user", "content": line} for _ in range(1000)]}
    while time.monotonic() < stop:
        t = time.monotonic(); status, body = call(key_a, "POST", "/v1/conversations/%s/messages/batch" % conv, batch)
        with lock: results["A"].append((status, time.monotonic() - t, (body or {}).get("type", "") if status >= 400 else ""))

def quiet():
    conv = conversation(key_b, "quiet-%d" % time.time_ns())
    while time.monotonic() < stop:
        t = time.monotonic(); status, body = call(key_b, "POST", "/v1/conversations/%s/messages" % conv, {"role": "user", "content": "hello"})
        with lock: results["B"].append((status, time.monotonic() - t, (body or {}).get("type", "") if status >= 400 else ""))
        time.sleep(0.05)

threads = [threading.Thread(target=flood, args=(i,)) for i in range(10)] + [threading.Thread(target=quiet)]
[t.start() for t in threads]; [t.join() for t in threads]
for app, rs in results.items():
    statuses = {}
    for status, _, kind in rs:
        label = str(status) + ((" " + kind.rsplit("/", 1)[-1]) if kind else "")
        statuses[label] = statuses.get(label, 0) + 1
    ms = sorted(r[1] * 1000 for r in rs)
    print("app %s: %d requests %s p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (app, len(rs), statuses, statistics.median(ms),
          ms[min(len(ms) - 1, int(len(ms) * 0.99))], ms[-1]))
