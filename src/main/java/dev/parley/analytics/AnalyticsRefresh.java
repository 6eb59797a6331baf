package dev.parley.analytics;

import dev.parley.config.Durations;
import dev.parley.db.Database;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Handle;
import dev.parley.db.PoolSaturated;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refreshes the analytics views, CONCURRENTLY: readers keep reading the previous rows meanwhile.
 * One refresh at a time across every instance (a transaction-scoped advisory lock); a scheduled one
 * is skipped when another instance refreshed within the interval, so N instances do not refresh N times.
 *
 * <p>Before the views, each archived month not counted yet is counted, in a transaction of its own (V33):
 * the views then add its counts instead of reading its rows again, and a change to the month (erasure,
 * retention) has it counted again. A month's lock, which holds off such changes while it is counted, is
 * held only that long.
 */
public final class AnalyticsRefresh {
    private static final Logger LOG = LoggerFactory.getLogger(AnalyticsRefresh.class);
    /** The advisory lock's key: "parley analytics", so it cannot clash with another use of advisory locks. */
    static final long LOCK = 0x7061726c6579_61L;

    static final Query LOCK_WAIT = new Query("analytics.lock", "SELECT pg_advisory_xact_lock(?)");
    static final Query LOCK_TRY = new Query("analytics.try_lock", "SELECT pg_try_advisory_xact_lock(?)");
    static final Query LAST = new Query("analytics.last_refresh", "SELECT refreshed_at, took_ms FROM analytics_refresh");
    /**
     * A scheduled refresh starts no sooner than this many times the last one's duration after it began: a
     * refresh recomputes every hot month, so on a large store it could take most of the interval (18 s of 5
     * minutes on 2M messages, growing with them); spaced out so, it takes at most a tenth of one backend.
     */
    static final int SPACING = 10;
    static final Query RECORD = new Query("analytics.record_refresh", """
            UPDATE analytics_refresh SET refreshed_at = ?, took_ms = ?""");
    static final Query UNCOUNTED = new Query("analytics.uncounted_months", """
            SELECT month_name FROM analytics_archived_partitions WHERE NOT counted AND NOT moving ORDER BY month_name""");
    static final Query COUNT_MONTH = new Query("analytics.count_archived_month", "SELECT parley_count_archived_month(?)");
    // Months that left the archive (retention): their counts go with them (ON DELETE CASCADE).
    static final Query FORGET = new Query("analytics.forget_unarchived_months", """
            DELETE FROM analytics_archived_months s
             WHERE NOT EXISTS (SELECT 1 FROM analytics_archived_partitions p WHERE p.month_table = s.month_table)""");

    /** Each view, refreshed in this order; the names label the statements' timings in metrics and the slow-query log. */
    static final List<Query> VIEWS = List.of(
            refresh("analytics.refresh_character_days", "analytics_character_days"),
            refresh("analytics.refresh_active_days", "analytics_active_days"),
            refresh("analytics.refresh_active_months", "analytics_active_months"),
            refresh("analytics.refresh_conversation_days", "analytics_conversation_days"),
            refresh("analytics.refresh_conversation_roles", "analytics_conversation_roles"));

    /** When the views were refreshed (the clock's time when the refresh began) and what it took. */
    public record Refreshed(Instant refreshedAt, long tookMs) {
    }

    /** A refresh asked for that has not begun: the callers that share it, and its outcome. */
    private static final class Upcoming {
        final CompletableFuture<Refreshed> result = new CompletableFuture<>();
        int callers; // guarded by the refresh
    }

    private final Database database;
    private final Clock clock;
    private final Duration interval;
    private final ReentrantLock running = new ReentrantLock(); // this instance's asked-for refreshes, one at a time
    private Upcoming next; // guarded by this; null when no asked-for refresh waits to begin

    public AnalyticsRefresh(Database database, Clock clock, Duration interval) {
        this.database = database;
        this.clock = clock;
        this.interval = interval;
    }

    public Duration interval() {
        return interval;
    }

    /**
     * Refreshes now, after any refresh already running has finished: what is returned includes every write before the
     * call. Calls on this instance that come while one waits to begin share it, since it begins after each of them: so
     * however many callers ask at once, this instance runs at most the refresh under way and one more.
     */
    public Refreshed refresh() {
        Upcoming upcoming;
        boolean leads;
        synchronized (this) {
            leads = next == null;
            if (leads) {
                next = new Upcoming();
            }
            upcoming = next;
            upcoming.callers++;
        }
        if (!leads) {
            try {
                return upcoming.result.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
        }
        running.lock();
        try {
            synchronized (this) {
                next = null; // it begins: a caller from now on may have written since, and needs the one after
            }
            Refreshed done = refreshNow();
            upcoming.result.complete(done);
            return done;
        } catch (RuntimeException e) {
            upcoming.result.completeExceptionally(e);
            throw e;
        } finally {
            running.unlock();
        }
    }

    /** How many calls share the refresh that has not begun yet (0: none waits): for tests. */
    synchronized int waitingCallers() {
        return next == null ? 0 : next.callers;
    }

    private Refreshed refreshNow() {
        countArchivedMonths(true);
        return database.inTransaction(handle -> {
            handle.first(LOCK_WAIT, row -> true, LOCK);
            return refreshHolding(handle);
        });
    }

    /**
     * The scheduled refresh: runs only when the last one (by any instance) began at least an interval ago,
     * or {@link #SPACING} times its duration if that is longer, and no other is running; returns whether it ran.
     */
    public boolean refreshIfDue() {
        countArchivedMonths(false);
        return database.inTransaction(handle -> {
            if (!handle.first(LOCK_TRY, row -> row.getBoolean(1), LOCK).orElseThrow()) {
                return false;
            }
            Refreshed last = handle.first(LAST, row -> new Refreshed(row.getTimestamp(1).toInstant(), row.getLong(2))).orElseThrow();
            if (clock.instant().isBefore(last.refreshedAt().plus(spacing(last)))) {
                return false;
            }
            refreshHolding(handle);
            return true;
        });
    }

    /**
     * Forgets the months that left the archive, then counts each archived month that is not counted (or changed
     * since) and not moving, one transaction each, under the refresh's lock: waiting for it, or skipping the month
     * when another instance holds it. Returns the months counted. A month that fails is logged and left to the next
     * refresh, which reads its rows meanwhile: the figures stay right, only slower to make.
     */
    int countArchivedMonths(boolean wait) {
        int counted = 0;
        List<String> uncounted = database.read(handle -> {
            handle.execute(FORGET);
            return handle.list(UNCOUNTED, row -> row.getString(1));
        });
        for (String month : uncounted) {
            long started = System.nanoTime();
            try {
                boolean done = database.inTransaction(handle -> {
                    boolean locked = wait ? handle.first(LOCK_WAIT, row -> true, LOCK).isPresent()
                            : handle.first(LOCK_TRY, row -> row.getBoolean(1), LOCK).orElseThrow();
                    return locked && handle.first(COUNT_MONTH, row -> row.getBoolean(1), month).orElseThrow();
                });
                if (done) {
                    counted++;
                    LOG.info("analytics: archived month {} counted in {} ms", month, (System.nanoTime() - started) / 1_000_000);
                }
            } catch (DatabaseUnavailable | PoolSaturated outage) {
                throw outage; // no other month would be counted either: the caller says so once
            } catch (RuntimeException e) {
                LOG.warn("analytics: archived month {} was not counted; refreshes read its rows until it is: {}", month,
                        e.getMessage(), e);
            }
        }
        return counted;
    }

    /** From the start of {@code last} to the next scheduled refresh. */
    Duration spacing(Refreshed last) {
        Duration spaced = Duration.ofMillis(last.tookMs()).multipliedBy(SPACING);
        return spaced.compareTo(interval) > 0 ? spaced : interval;
    }

    /**
     * For the scheduler: a failure is logged and the next tick tries again. An outage, which heals by itself and which the
     * watch logs already, is one line; anything else keeps its stack trace.
     */
    public void refreshIfDueLogged() {
        try {
            refreshIfDue();
        } catch (DatabaseUnavailable | PoolSaturated outage) {
            LOG.warn("the analytics refresh did not run ({}); it runs again in {}", outage.getMessage(), Durations.format(interval));
        } catch (RuntimeException e) {
            LOG.warn("the analytics refresh failed; it runs again in {}: {}", Durations.format(interval), e.getMessage(), e);
        }
    }

    private Refreshed refreshHolding(Handle handle) throws SQLException {
        Instant began = clock.instant().truncatedTo(ChronoUnit.MICROS); // as PostgreSQL stores it
        long started = System.nanoTime();
        for (Query view : VIEWS) {
            handle.execute(view);
        }
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        handle.execute(RECORD, Timestamp.from(began), tookMs);
        LOG.info("analytics views refreshed in {} ms", tookMs);
        return new Refreshed(began, tookMs);
    }

    private static Query refresh(String name, String view) {
        return new Query(name, "REFRESH MATERIALIZED VIEW CONCURRENTLY " + view);
    }
}
