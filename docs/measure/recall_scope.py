"""What the recall scripts beside this one share (first-recall.py, recall-after-write.py, recall-after-batch.py): the
server and key from the environment, the scope from the command line, requests, and random embeddings. Python puts a
script's own folder on its path, so `python3 docs/measure/first-recall.py ...` finds this module.

    PARLEY_KEY     an API key of the app (parley apps keys create bench --data-dir DIR)
    PARLEY_URL     the server, http://127.0.0.1:18080 unless given
"""
import base64, json, os, random, struct, sys, time, urllib.request

KEY = os.environ["PARLEY_KEY"]
BASE = os.environ.get("PARLEY_URL", "http://127.0.0.1:18080")
USER, CHARACTER, DIMS = sys.argv[1], sys.argv[2], 768
RECALL = f"/v1/users/{USER}/memories/recall"


def call(method, path, body=None):
    """The answer's JSON (None when empty); a status of 400 or more stops the script."""
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def timed(method, path, body):
    """How long the request took, in milliseconds."""
    start = time.perf_counter()
    call(method, path, body)
    return (time.perf_counter() - start) * 1000


def embedding():
    """A random direction of DIMS numbers, unit length, as base64 of little-endian float32."""
    vector = [random.gauss(0, 1) for _ in range(DIMS)]
    norm = sum(x * x for x in vector) ** 0.5
    return base64.b64encode(struct.pack("<%df" % DIMS, *[x / norm for x in vector])).decode()
