package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.config.CacheTtls;
import dev.parley.db.ConnectionTarget;
import dev.parley.metrics.Metrics;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Change notices that name their origin (V25): the instance they name skips them, having dropped the views
 * itself, and keeps what was loaded since; notices of any other origin, or of none, drop views as before. A
 * change too large for one payload names its origin in each.
 */
class OwnChangeNoticesTest {
    private static final String DB = "parley_own_notices";
    private static final Scope CONVERSATION = Scope.conversation(1, 10);

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ReadCache cache = new ReadCache(64L << 20, CacheTtls.DEFAULTS, Ticker.systemTicker(), Runnable::run, registry);
    private final AtomicInteger loads = new AtomicInteger();
    private final ExecutorService listener = Executors.newSingleThreadExecutor();
    private ConnectionTarget target;
    private Invalidations invalidations;

    @BeforeEach
    void listening() {
        target = TestDatabase.get().migrated(DB);
        invalidations = new Invalidations(target, listener);
        cache.followChanges(invalidations);
        Wait.until("the listener to connect", Duration.ofSeconds(10), invalidations::listening);
        cachedPage(); // after the listener connected, which drops everything
        assertThat(loads).hasValue(1);
    }

    @AfterEach
    void stop() {
        invalidations.close();
        listener.shutdownNow();
    }

    @Test
    void a_notice_of_this_instances_own_change_keeps_what_was_loaded_since() throws SQLException {
        announce(invalidations.origin(), "c:1:10:5");
        awaitBystanders(1);

        cachedPage();

        assertThat(loads).as("loads of the page").hasValue(1);
        assertThat(heard("c")).as("conversation notices acted on").isZero();
    }

    @Test
    void a_notice_of_another_origin_or_of_none_drops_the_view() throws SQLException {
        announce("another0instance", "c:1:10:5");
        awaitBystanders(1);
        cachedPage();
        assertThat(loads).hasValue(2);

        announce("", "c:1:10:5");
        awaitBystanders(2);
        cachedPage();
        assertThat(loads).hasValue(3);
    }

    @Test
    void a_change_whose_notices_fill_several_payloads_names_its_origin_in_each() throws SQLException {
        String[] many = IntStream.rangeClosed(1, 2_000).mapToObj(i -> "c:1:" + (1_000 + i) + ":5").toArray(String[]::new);

        announce(invalidations.origin(), many);
        announce("another0instance", many);
        awaitBystanders(2);

        assertThat(heard("c")).as("notices acted on: the other origin's alone").isEqualTo(many.length);
    }

    private void cachedPage() {
        cache.get(CONVERSATION, "history:50", () -> {
            loads.incrementAndGet();
            return "page";
        });
    }

    /** Commits a change of {@code origin} ("": none) announcing {@code notices}, then a bystander's change of no origin. */
    private void announce(String origin, String... notices) throws SQLException {
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password())) {
            connection.setAutoCommit(false);
            try (var statement = connection.prepareStatement("SELECT set_config('parley.origin', ?, true), parley_announce(?)")) {
                statement.setString(1, origin);
                statement.setArray(2, connection.createArrayOf("text", notices));
                statement.execute();
            }
            connection.commit();
            try (var statement = connection.createStatement()) { // no origin: heard, and heard after the one above
                statement.execute("SELECT parley_announce(ARRAY['u:1:99'])");
            }
            connection.commit();
        }
    }

    /** Waits for the bystander's notice after the {@code count}th change: counted once those before it were acted on. */
    private void awaitBystanders(long count) {
        Wait.until(count + " bystander notices", Duration.ofSeconds(10), () -> heard("u") >= count);
    }

    private long heard(String kind) {
        var counter = registry.find(Metrics.CACHE_NOTICES).tag("kind", kind).counter();
        return counter == null ? 0 : Math.round(counter.count());
    }
}
