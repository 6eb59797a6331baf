package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.metrics.Metrics;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Requests waiting their turn for a connection show in parley_pool_waiting, by what they wait for: their app's share,
 * or any connection. They queue before HikariCP, whose pending gauge stays 0 meanwhile, and with one app at its share
 * the pool is never over PARLEY_APP_SHARE in use, so neither hikaricp metric tells that requests wait.
 */
class PoolWaitingTest {
    private static final String DB = "parley_pool_waiting";

    @Test
    void requests_waiting_at_their_apps_share_and_for_a_free_connection_are_published() throws Exception {
        ConnectionTarget target = TestDatabase.get().migrated(DB);
        PrometheusMeterRegistry registry = Metrics.newRegistry();
        var release = new CountDownLatch(1);
        List<CompletableFuture<Void>> work = new ArrayList<>();
        try (Database pool = Database.connect(target, new Database.PoolOptions(4, Duration.ofSeconds(30), 0.5),
                QueryLog.quiet(), registry, null)) {
            pool.publishTurns(registry);
            pool.awaitConnections(4, Duration.ofSeconds(30)); // all made: none is waited for at HikariCP meanwhile
            for (int i = 0; i < 4; i++) { // the app may hold two of the four: two hold, two wait for its share
                work.add(holding(pool, 1L, release));
            }
            Wait.until("two of app 1's requests to wait for its share", Duration.ofSeconds(10),
                    () -> gauge(registry, "parley_pool_waiting{waiting_for=\"app_share\"}") == 2);
            // HikariCP's gauges are its statistics of up to a second ago
            Wait.until("HikariCP to count the two in use", Duration.ofSeconds(10),
                    () -> gauge(registry, "hikaricp_connections_active{pool=\"parley\"}") == 2);
            assertThat(gauge(registry, "hikaricp_connections_pending{pool=\"parley\"}")).as("HikariCP sees none").isZero();
            assertThat(gauge(registry, "parley_pool_waiting{waiting_for=\"connection\"}")).isZero();
            assertThat(gauge(registry, "parley_pool_waiting{waiting_for=\"app_share\"}")).isEqualTo(2);

            for (int i = 0; i < 2; i++) { // background work, never capped, takes the other two
                work.add(holding(pool, null, release));
            }
            work.add(holding(pool, 2L, release)); // and app 2 finds none free
            Wait.until("app 2's request to wait for a free connection", Duration.ofSeconds(10),
                    () -> gauge(registry, "parley_pool_waiting{waiting_for=\"connection\"}") == 1);
            assertThat(gauge(registry, "parley_pool_waiting{waiting_for=\"app_share\"}")).isEqualTo(2);

            release.countDown();
            CompletableFuture.allOf(work.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertThat(gauge(registry, "parley_pool_waiting{waiting_for=\"app_share\"}")).isZero();
            assertThat(gauge(registry, "parley_pool_waiting{waiting_for=\"connection\"}")).isZero();
        } finally {
            release.countDown();
        }
    }

    /** A read on behalf of {@code app} (null: background work) that holds its connection until {@code release}. */
    private static CompletableFuture<Void> holding(Database pool, Long app, CountDownLatch release) {
        return CompletableFuture.runAsync(() -> {
            Lane.Work read = () -> pool.read(handle -> awaitQuietly(release));
            try {
                if (app == null) {
                    read.run();
                } else {
                    Lane.runAs(app, read);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, runnable -> Thread.ofVirtual().start(runnable));
    }

    private static boolean awaitQuietly(CountDownLatch release) {
        try {
            return release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static double gauge(PrometheusMeterRegistry registry, String series) {
        Matcher line = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(registry.scrape());
        return line.find() ? Double.parseDouble(line.group(1)) : Double.NaN;
    }
}
