package dev.parley.monitor;

import java.time.Instant;

/** One step of the last hour, for the dashboard's charts: rates per second, latencies in milliseconds. */
public record Point(Instant time, double requestsPerSecond, double errorsPerSecond, double p50Ms, double p95Ms, double p99Ms,
                    double cacheHitRatio, int poolActive, int poolWaiting, double slowQueriesPerSecond, long databaseBytes) {
}
