package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogTimesTest {
    private static final DateTimeFormatter EXPECTED = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX")
            .withZone(ZoneOffset.UTC);

    @Test
    void a_time_is_written_to_the_millisecond_in_utc_as_a_formatter_writes_it() {
        List<Instant> times = List.of(Instant.parse("2026-12-31T23:59:59.999Z"), Instant.parse("2027-01-01T00:00:00Z"),
                Instant.parse("2028-02-29T12:00:00.001Z"), Instant.parse("2026-12-01T00:00:00.010Z"),
                Instant.parse("2026-12-01T00:00:00.100Z"), Instant.EPOCH, Instant.parse("2026-12-03T22:38:40.628999999Z"));
        for (Instant time : times) {
            assertThat(LogTimes.format(time)).as("%s", time).isEqualTo(EXPECTED.format(time));
            assertThat(Instant.parse(LogTimes.format(time))).isEqualTo(time.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        }
    }

    @Test
    void lines_of_one_second_share_its_text_and_a_line_of_an_earlier_second_is_still_right() {
        Instant second = Instant.parse("2026-12-03T22:38:40Z");
        assertThat(LogTimes.format(second.plusMillis(5))).isEqualTo("2026-12-03T22:38:40.005Z");
        assertThat(LogTimes.format(second.plusMillis(994))).isEqualTo("2026-12-03T22:38:40.994Z");
        // Threads log out of order: a line made a moment earlier may come after the next second's first.
        assertThat(LogTimes.format(second.plusMillis(1_001))).isEqualTo("2026-12-03T22:38:41.001Z");
        assertThat(LogTimes.format(second.minusMillis(1))).isEqualTo("2026-12-03T22:38:39.999Z");
        assertThat(LogTimes.format(second.plusMillis(1_002))).isEqualTo("2026-12-03T22:38:41.002Z");
    }
}
