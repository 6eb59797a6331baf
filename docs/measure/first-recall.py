#!/usr/bin/env python3
"""What the first recalls of a scope cost on a server just started (docs/benchmarks.md, "A recall after a write reads
only what was written"): the first reads the scope's embeddings from PostgreSQL, the next from memory.

    parley bench load --messages 100k --conversations 1 --memories 10k --months 1 --data-dir DIR
    parley apps keys create bench --data-dir DIR
    parley serve --data-dir DIR --port 18080          # a new one for each measurement
    PARLEY_KEY=pk_... python3 docs/measure/first-recall.py USER_ID CHARACTER_ID

Prints the time of three recalls of the scope, one after the other; the server logs the first one's read of the scope
as "slow query memory.load_scope took N ms".
"""
import base64, json, os, random, struct, sys, time, urllib.request

KEY = os.environ["PARLEY_KEY"]
BASE = os.environ.get("PARLEY_URL", "http://127.0.0.1:18080")
USER, CHARACTER, DIMS = sys.argv[1], sys.argv[2], 768

vector = [random.gauss(0, 1) for _ in range(DIMS)]
body = json.dumps({"character_id": CHARACTER, "embedding": base64.b64encode(struct.pack("<%df" % DIMS, *vector)).decode(),
                   "limit": 10}).encode()
times = []
for _ in range(3):
    start = time.perf_counter()
    request = urllib.request.Request(f"{BASE}/v1/users/{USER}/memories/recall", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        answer.read()
    times.append((time.perf_counter() - start) * 1000)
print("recalls: " + ", ".join(f"{t:.0f} ms" for t in times))
