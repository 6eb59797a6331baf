package dev.parley.monitor;

import java.time.Instant;

/**
 * One step of the last hour, for the dashboard's charts: rates per second, latencies in milliseconds;
 * {@code cacheHitRatio} null when the cache had no reads in the step (a gap, not a perfect score), {@code databaseBytes}
 * null before PostgreSQL's first reading.
 */
public record Point(Instant time, double requestsPerSecond, double errorsPerSecond, double p50Ms, double p95Ms, double p99Ms,
                    Double cacheHitRatio, int poolActive, int poolWaiting, double slowQueriesPerSecond, Long databaseBytes) {
}
