#!/usr/bin/env python3
"""What a recall costs right after a memory is written to its scope (docs/benchmarks.md, "Recall's dot products in
SIMD …").

    parley bench load --messages 100k --conversations 1 --memories 10k --months 1 --data-dir DIR
    parley apps keys create bench --data-dir DIR
    parley serve --data-dir DIR --port 18080
    PARLEY_KEY=pk_... python3 docs/measure/recall-after-write.py USER_ID CHARACTER_ID [ROUNDS [same]]

USER_ID and CHARACTER_ID name the scope (the dataset's one conversation: SELECT user_id, character_id FROM
memory_scopes). Recalls 20 times to settle, then ROUNDS times (15 unless given): writes a memory with a random
768-number embedding, recalls at once (the scope's version has moved), recalls again (from memory); prints the
medians, 90th percentiles and maxima. Each round adds a memory to the scope. With "same", every recall sends one query,
so the recall after a write returns the memories recalled before it (their rows kept with the scope's vectors).
"""
import sys

from recall_scope import CHARACTER, RECALL, USER, embedding, timed

SAME_QUERY = embedding() if len(sys.argv) > 4 and sys.argv[4] == "same" else None


def recall():
    return timed("POST", RECALL, {"character_id": CHARACTER, "embedding": SAME_QUERY or embedding(), "limit": 10})


for _ in range(20):
    recall()
writes, after_write, again = [], [], []
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 15):
    writes.append(timed("POST", f"/v1/users/{USER}/memories",
                        {"character_id": CHARACTER, "content": f"new memory {i}", "embedding": embedding()}))
    after_write.append(recall())
    again.append(recall())
at = lambda values, share: sorted(values)[int(len(values) * share)]
print(f"write p50 {at(writes, .5):.1f} ms; recall after a write p50 {at(after_write, .5):.1f} ms, "
      f"p90 {at(after_write, .9):.1f}, max {max(after_write):.1f}; "
      f"recall again p50 {at(again, .5):.1f} ms, p90 {at(again, .9):.1f}, max {max(again):.1f}")
