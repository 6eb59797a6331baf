#!/usr/bin/env bash
# Eight clients append and eight read through Parley while PostgreSQL is stopped (immediate mode: a crash)
# for ten seconds and started again (Debian's pg_ctlcluster, cluster 15/main); every answer is logged with its time.
set -u
base=$1; key=$2; conv=$3
H="Authorization: Bearer $key"
client() { # $1 kind, $2 n
  local i=0
  while [ ! -e stop ]; do
    i=$((i+1))
    if [ "$1" = append ]; then
      curl -s -o /dev/null -w "$(date +%s.%N) append %{http_code} %{time_total}\n" -X POST -H "$H" -H 'Content-Type: application/json' \
        -H "Idempotency-Key: c$2-$i" -d "{\"content\":\"c$2-$i\"}" "$base/v1/conversations/$conv/messages"
    else
      curl -s -o /dev/null -w "$(date +%s.%N) read %{http_code} %{time_total}\n" -H "$H" "$base/v1/conversations/$conv/messages?limit=20"
    fi
  done >> "answers-$1-$2.log"
}
rm -f stop answers-*.log events.log
for n in 1 2 3 4 5 6 7 8; do client append $n & client read $n & done
sleep 5
echo "$(date +%s.%N) stop" >> events.log; pg_ctlcluster 15 main stop -m immediate
sleep 10
echo "$(date +%s.%N) start" >> events.log; pg_ctlcluster 15 main start
sleep 10
touch stop; wait
