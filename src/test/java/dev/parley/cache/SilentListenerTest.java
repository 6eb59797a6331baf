package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.config.CacheTtls;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A listening session that goes silent without closing (its backend stopped, a connection a firewall black-holed)
 * hears no notice and reports no error. The listener asks it to answer every few seconds: one that does not is
 * given up, and the cache drops what it holds once a new session listens, instead of serving it for its time to live.
 */
class SilentListenerTest {
    private static final String DB = "parley_silent_listener";

    @Test
    void a_session_that_stops_answering_is_replaced_and_the_cache_loads_again() {
        var cache = new ReadCache(64L << 20, CacheTtls.DEFAULTS, Ticker.systemTicker(), Runnable::run, new SimpleMeterRegistry());
        var loads = new AtomicInteger();
        ExecutorService listener = Executors.newSingleThreadExecutor();
        try (var line = RoundTrips.to(TestDatabase.get().migrated(DB));
             var invalidations = new Invalidations(line.target(), listener)) {
            cache.followChanges(invalidations);
            Wait.until("the listener to connect", Duration.ofSeconds(10), invalidations::listening);
            Runnable read = () -> cache.get(Scope.conversation(1, 10), "history:50", () -> "page " + loads.incrementAndGet());
            read.run();
            read.run();
            assertThat(loads).as("loaded once, then from the cache").hasValue(1);

            line.stall();
            Wait.until("the silent session to be given up", Duration.ofSeconds(20), () -> !invalidations.listening());
            line.resume();
            Wait.until("a new session to listen", Duration.ofSeconds(20), invalidations::listening);
            read.run();

            assertThat(loads).as("what was cached while nothing could be heard is loaded again").hasValue(2);
        } finally {
            listener.shutdownNow();
        }
    }
}
