#!/usr/bin/env bash
# The server CPU one request costs in Javalin 7 (as Parley configures it), plain Jetty 12 handlers and
# Helidon SE 4, all serving the same JSON body; 8 keep-alive clients in another JVM.
#   docs/measure/frameworks/run.sh BODY.json     (a history page: curl one from a running Parley)
set -euo pipefail
cd "$(dirname "$0")"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
javac="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/javac"
mkdir -p target/classes
[ -f target/cp.txt ] || mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt >/dev/null
cp="target/classes:$(cat target/cp.txt)"
"$javac" -d target/classes -cp "$cp" FrameworkCost.java
port=18601
for server in javalin jetty helidon; do
  "$java" -cp "$cp" FrameworkCost "$server" $port "$1" > "target/$server.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do ss -ltn | grep -q ":$port " && break; sleep 0.2; done
  "$java" -cp "$cp" FrameworkCost client $port 8 1 3 > /dev/null   # warms the server's JIT
  before=$(awk '{print $14 + $15}' /proc/$pid/stat)
  read -r total rate < <("$java" -cp "$cp" FrameworkCost client $port 8 2 10)
  after=$(awk '{print $14 + $15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null || true
  cpu=$(awk -v ticks=$((after - before)) -v n="$total" 'BEGIN { printf "%.1f", ticks * 10000 / n }') # ticks of 10 ms
  echo "$server $(basename "$1"): $rate requests/s, server CPU $cpu µs/request, load $(cut -d' ' -f1 /proc/loadavg)"
done
