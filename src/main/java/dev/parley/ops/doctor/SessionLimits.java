package dev.parley.ops.doctor;

import java.time.Duration;

/**
 * How long a session may idle in a transaction, run one query, keep a transaction open or wait for a
 * lock, and how far a replica may fall behind, before the doctor reports it. Given from outside like a
 * clock, so tests need not wait a minute to see a long-running query.
 */
public record SessionLimits(Duration idleInTransaction, Duration query, Duration transaction, Duration lockWait,
                            Duration replicationLag) {
    /** One minute idle or running (PgHero's long-query default), ten minutes for a transaction, ten seconds waiting on a lock. */
    public static final SessionLimits DEFAULTS = new SessionLimits(Duration.ofMinutes(1), Duration.ofMinutes(1),
            Duration.ofMinutes(10), Duration.ofSeconds(10), Duration.ofMinutes(1));

    /** The same limit for every age: what tests use to see planted sessions after a short wait. */
    public static SessionLimits all(Duration limit) {
        return new SessionLimits(limit, limit, limit, limit, limit);
    }
}
