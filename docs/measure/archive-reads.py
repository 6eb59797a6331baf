#!/usr/bin/env python3
"""Reads that reach the archive, against a running Parley over a bench dataset (docs/benchmarks.md, "The archive").

    parley bench load --messages 2M --data-dir DIR
    parley archive --older-than 6mo --data-dir DIR
    parley serve --data-dir DIR --embedded-port 45432 --port 18081
    PARLEY_KEY=pk_... PGPASSWORD=$(cat DIR/pg-password) python3 docs/measure/archive-reads.py

Pages back through 40 conversations begun before the oldest hot month (history pages of 50, timed
apart when they reach the archive), then searches 60 of their users and the app for a common and a
rare word with and without include_archived, one request at a time.
"""
import json, os, subprocess, time, urllib.request

KEY = os.environ["PARLEY_KEY"]
BASE = os.environ.get("PARLEY_URL", "http://127.0.0.1:18081")
PG = ["psql", "-h", "127.0.0.1", "-p", os.environ.get("PGPORT", "45432"), "-U", "postgres", "-d", "parley", "-Atc"]


def get(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + KEY})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        body = json.load(response)
    return body, (time.perf_counter() - started) * 1000


def sql(query):
    return subprocess.run(PG + [query], capture_output=True, text=True, check=True).stdout.split()


def summary(ms):
    ms = sorted(ms)
    return "n=%d p50=%.2f p90=%.2f p99=%.2f ms" % (len(ms), ms[len(ms) // 2], ms[int(len(ms) * .9)], ms[min(len(ms) - 1, int(len(ms) * .99))])


hot_floor = int(sql("SELECT min(message_id) FROM messages WHERE message_id > (SELECT max(message_id) FROM parley_archive.messages)")[0])
conversations = sql("SELECT conversation_id FROM conversations WHERE conversation_id < %d AND message_count > 200 "
                    "ORDER BY conversation_id LIMIT 40" % hot_floor)
hot, archived = [], []
for conversation in conversations:
    page = "/v1/conversations/%s/messages?limit=50" % conversation
    while page:
        body, ms = get(page)
        ids = [int(m["id"]) for m in body["messages"]]
        (archived if ids and min(ids) < hot_floor else hot).append(ms)
        page = "/v1/conversations/%s/messages?limit=50&before=%s" % (conversation, body["older_cursor"]) if body["has_older"] else None
print("history pages of 50, hot only:         ", summary(hot))
print("history pages of 50, reaching archive: ", summary(archived))

users = sql("SELECT DISTINCT user_id FROM conversations WHERE conversation_id < %d LIMIT 60" % hot_floor)
for word in ["time", "vavato"]:
    for archive in ["false", "true"]:
        print("user search %-7s include_archived=%-5s" % (word, archive),
              summary([get("/v1/search/messages?q=%s&user_id=%s&include_archived=%s" % (word, user, archive))[1] for user in users]))
for word in ["time", "vavato"]:
    for archive in ["false", "true"]:
        print("app search  %-7s include_archived=%-5s" % (word, archive),
              summary([get("/v1/search/messages?q=%s&include_archived=%s" % (word, archive))[1] for _ in range(5)]))
