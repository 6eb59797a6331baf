package dev.parley.lifecycle;

import dev.parley.db.Database;
import dev.parley.db.Query;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One round of retention or archiving at a time, across every instance and command: both take whole
 * months out of messages, and must never work on the same month at once. A session advisory lock,
 * held on one connection for the round (so the pool needs a second for the round's own work); an
 * instance that finds it taken skips its round at once rather than wait for it. Through a PgBouncer in
 * transaction mode the lock and its unlock could each run on any server connection, and the lock would
 * outlive the round: so {@code sessions} is a pool straight to PostgreSQL there (docs/operations.md, "PgBouncer").
 */
final class RoundLock {
    private static final Logger LOG = LoggerFactory.getLogger(RoundLock.class);
    static final Query TRY_LOCK = new Query("lifecycle.try_lock", "SELECT pg_try_advisory_lock(hashtext('parley.lifecycle'))");
    static final Query UNLOCK = new Query("lifecycle.unlock", "SELECT pg_advisory_unlock(hashtext('parley.lifecycle'))");

    private RoundLock() {
    }

    /** {@code round}'s result, or {@code skipped} when another round holds the lock. */
    static <T> T exclusively(Database sessions, String what, Supplier<T> round, T skipped) {
        return sessions.read(handle -> {
            if (!handle.first(TRY_LOCK, row -> row.getBoolean(1)).orElseThrow()) {
                LOG.info("{}: another instance or command is running a round of retention or archiving; this one is skipped", what);
                return skipped;
            }
            try {
                return round.get();
            } finally {
                handle.first(UNLOCK, row -> null);
            }
        });
    }
}
