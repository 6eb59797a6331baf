#!/usr/bin/env python3
"""What a recall costs right after a batch of memories is written to its scope (docs/benchmarks.md, "A recall after a
write reads only what was written"): the refresh reads the batch's embeddings (memory.changed_since).

    parley bench load --messages 100k --conversations 1 --memories 10k --months 1 --data-dir DIR
    parley apps keys create bench --data-dir DIR
    parley serve --data-dir DIR --port 18080          # a new one for each measurement
    PARLEY_KEY=pk_... python3 docs/measure/recall-after-batch.py USER_ID CHARACTER_ID [ROUNDS [SIZE]]

Recalls 20 times to settle, then ROUNDS times (8 unless given): writes SIZE memories (1,000 unless given) in one batch,
recalls, recalls again with the same query; prints each time. Each round adds SIZE memories to the scope.
"""
import sys

from recall_scope import CHARACTER, RECALL, USER, embedding, timed

ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
SIZE = int(sys.argv[4]) if len(sys.argv) > 4 else 1000

query = {"character_id": CHARACTER, "embedding": embedding(), "limit": 10}
for _ in range(20):
    timed("POST", RECALL, query)
after, again = [], []
for i in range(ROUNDS):
    timed("POST", f"/v1/users/{USER}/memories/batch",
          {"memories": [{"character_id": CHARACTER, "content": f"batch {i}, memory {k}", "embedding": embedding()} for k in range(SIZE)]})
    after.append(timed("POST", RECALL, query))
    again.append(timed("POST", RECALL, query))
print(f"recall after a batch of {SIZE}: " + ", ".join(f"{t:.0f}" for t in after) + " ms; again: "
      + ", ".join(f"{t:.0f}" for t in again) + " ms")
