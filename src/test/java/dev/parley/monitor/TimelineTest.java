package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.support.SteppingClock;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TimelineTest {
    @Test
    void a_window_covers_the_readings_nearest_its_span_when_readings_come_a_little_early() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var timeline = new Timeline(registry, new DatabaseStats(database, clock, registry), clock);
            for (int i = 0; i <= 14; i++) { // every 5 s, as PARLEY_ADMIN_SAMPLE, give or take: here a few ms early
                timeline.sample();
                clock.advance(4_995);
            }

            double minute = timeline.overview(Duration.ofMinutes(1)).windowSeconds();
            double second = timeline.overview(Duration.ofSeconds(1)).windowSeconds();

            assertThat(minute).isBetween(57.5, 62.5); // "last 65 s" before
            assertThat(second).as("a window shorter than a reading's interval still spans one").isGreaterThan(0);
        }
    }
}
