package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.sql.SQLException;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While the database stays unreachable, the reason the health check and each 503 give is what the last probe found, not
 * the failure that began the outage: sessions cut once, then connections refused, read as connections refused.
 */
class DatabaseWatchReasonTest {
    @Test
    void the_reason_follows_the_last_probe_while_the_database_stays_unreachable() throws Exception {
        ConnectionTarget target = TestDatabase.get().fresh("parley_watch_reason");
        var scheduler = Executors.newSingleThreadScheduledExecutor();
        try (var admin = TestDatabase.get().connect("postgres"); var watch = new DatabaseWatch(target, scheduler, Clock.systemUTC())) {
            admin.createStatement().execute("ALTER DATABASE parley_watch_reason ALLOW_CONNECTIONS false");
            try {
                admin.createStatement().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE datname = 'parley_watch_reason'"); // the watch's own connection, if it made one
                watch.suspect(new SQLException("FATAL: terminating connection due to administrator command", "57P01"));
                assertThat(watch.state().problem()).contains("administrator command");

                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (watch.state().problem().contains("administrator command") && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(watch.state().reachable()).isFalse();
                assertThat(watch.state().problem()).contains("is not currently accepting connections");
            } finally {
                admin.createStatement().execute("ALTER DATABASE parley_watch_reason ALLOW_CONNECTIONS true");
            }
        } finally {
            scheduler.shutdownNow();
        }
    }
}
