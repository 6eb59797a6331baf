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
from recall_scope import CHARACTER, RECALL, embedding, timed

query = {"character_id": CHARACTER, "embedding": embedding(), "limit": 10}
times = [timed("POST", RECALL, query) for _ in range(3)]
print("recalls: " + ", ".join(f"{t:.0f} ms" for t in times))
