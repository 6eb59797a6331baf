package dev.parley.cache;

import dev.parley.db.ConnectionTarget;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What other Parley instances and the database's own triggers changed, heard through PostgreSQL
 * LISTEN/NOTIFY on channel {@value #CHANNEL}. A notice is "kind" or "kind:id", sent when the change
 * commits; one payload may carry several, separated by spaces. The listener holds one connection of its own, outside the pool (LISTEN needs a session).
 * Notices sent while it was disconnected are lost, so after every (re)connect each subscriber is
 * told that anything may have changed.
 *
 * <p>A payload led by "@origin" (V25) comes from a transaction that named its origin: one of this instance's,
 * when the origin is {@link #origin()}, whose writer has dropped what the notices name itself. Those are
 * skipped; every other payload is delivered.
 */
public final class Invalidations implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Invalidations.class);
    public static final String CHANNEL = "parley_invalidate";
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    /**
     * How often the listening session is asked to answer, and how long it may take. A session that stops answering
     * (its backend stopped, or a firewall dropping the connection without a word) hears nothing and says nothing:
     * without the check, cached views would stay stale for their time to live.
     */
    private static final Duration CHECK_EVERY = Duration.ofSeconds(2);
    private static final int CHECK_SECONDS = 2;

    /** What a subscriber does when its kind changes: one id, or everything it holds. */
    private record Subscriber(java.util.function.Consumer<String> changed, Runnable everything) {
    }

    private final ConnectionTarget target;
    // Random, so that no two instances on one database share it; no space or colon, as a payload's parts hold neither.
    private final String origin = UUID.randomUUID().toString().replace("-", "");
    private final Map<String, List<Subscriber>> subscribers = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition stopped = lock.newCondition();
    private volatile boolean closing;
    private volatile boolean listening;
    private boolean lost; // a gap was logged: its end is too (the listening thread's own)

    /** Starts listening on {@code executor}, which must give it a thread of its own for as long as it runs. */
    public Invalidations(ConnectionTarget target, Executor executor) {
        this.target = target;
        executor.execute(this::listenUntilClosed);
    }

    /** Calls {@code changed} with the id of each notice of {@code kind} ("" when it names none), {@code everything} after a gap. */
    public void subscribe(String kind, java.util.function.Consumer<String> changed, Runnable everything) {
        subscribers.computeIfAbsent(kind, k -> new CopyOnWriteArrayList<>()).add(new Subscriber(changed, everything));
    }

    /**
     * What a transaction of this instance sets as {@code parley.origin} (V25) when it drops, itself, every view its
     * changes' notices name: this listener then skips those notices.
     */
    public String origin() {
        return origin;
    }

    /** Whether notices are being heard right now, the subscribers told of the gap before (false while the database is unreachable). */
    public boolean listening() {
        return listening;
    }

    private void listenUntilClosed() {
        Duration backoff = POLL;
        while (!closing) {
            try (Connection connection = DriverManager.getConnection(target.jdbcUrl(),
                    target.connectionProperties("parley-invalidations", CHECK_SECONDS))) {
                try (var statement = connection.createStatement()) {
                    statement.execute("LISTEN " + CHANNEL);
                }
                subscribers.values().forEach(list -> list.forEach(s -> s.everything().run()));
                if (lost) {
                    LOG.info("hearing cache invalidations again; every cache entry held meanwhile was dropped");
                    lost = false;
                }
                listening = true; // once what was held before is dropped: a view loaded from now on stays
                backoff = POLL;
                hear(connection);
            } catch (SQLException e) {
                if (listening && !closing) { // closing: its database may stop first (an embedded one), which is no fault
                    LOG.warn("stopped hearing cache invalidations ({}); every cache entry is dropped when they resume",
                            e.getMessage());
                    lost = true;
                }
                listening = false;
                pause(backoff);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
        listening = false;
    }

    /**
     * Proves the session still answers, within {@link #CHECK_SECONDS}: LISTEN again, a no-op for a session that
     * listens, rather than the empty statement of {@code isValid}, so that pg_stat_activity keeps naming what the
     * session is for (PgBouncerTest finds the listeners by it).
     */
    private static void listenAgain(Connection connection) throws SQLException {
        connection.setNetworkTimeout(Runnable::run, (int) TimeUnit.SECONDS.toMillis(CHECK_SECONDS));
        try (var statement = connection.createStatement()) {
            statement.execute("LISTEN " + CHANNEL);
        } catch (SQLException e) {
            throw new SQLException("the listening session did not answer within " + CHECK_SECONDS + "s: " + e.getMessage(), e);
        }
        connection.setNetworkTimeout(Runnable::run, 0);
    }

    private void hear(Connection connection) throws SQLException {
        PGConnection notifications = connection.unwrap(PGConnection.class);
        long checked = System.nanoTime();
        while (!closing) {
            PGNotification[] notices = notifications.getNotifications((int) POLL.toMillis());
            if (System.nanoTime() - checked >= CHECK_EVERY.toNanos()) {
                listenAgain(connection);
                checked = System.nanoTime();
            }
            if (notices == null) {
                continue;
            }
            for (PGNotification notice : notices) {
                String[] parts = notice.getParameter().split(" "); // one payload may carry many (V10)
                boolean named = parts[0].startsWith("@"); // by its origin (V25)
                if (named && parts[0].equals("@" + origin)) {
                    continue; // this instance's own change, dropped already by the writer
                }
                for (int i = named ? 1 : 0; i < parts.length; i++) {
                    deliver(parts[i]);
                }
            }
        }
    }

    private void deliver(String notice) {
        int colon = notice.indexOf(':');
        String kind = colon < 0 ? notice : notice.substring(0, colon);
        String id = colon < 0 ? "" : notice.substring(colon + 1);
        subscribers.getOrDefault(kind, List.of()).forEach(s -> s.changed().accept(id));
    }

    /** Waits before reconnecting; returns early when closed. */
    private void pause(Duration duration) {
        lock.lock();
        try {
            if (!closing) {
                stopped.await(duration.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closing = true;
        } finally {
            lock.unlock();
        }
    }

    /** Stops listening within one poll interval. */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            stopped.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
