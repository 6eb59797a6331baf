package dev.parley.json;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void instants_are_written_exactly_as_iso_instant_writes_them() throws Exception {
        var random = new SplittableRandom(11);
        List<Instant> instants = new ArrayList<>(List.of(Instant.EPOCH, Instant.parse("2026-11-30T14:22:22.318Z"),
                Instant.parse("2026-12-31T23:59:59.999999999Z"), Instant.parse("2028-02-29T00:00:00.000001Z"),
                Instant.parse("0000-01-01T00:00:00Z"), Instant.parse("9999-12-31T23:59:59.100Z"),
                Instant.parse("-0001-12-31T23:59:59Z"), Instant.parse("+10000-01-01T00:00:00Z"), Instant.MIN, Instant.MAX,
                Instant.ofEpochSecond(-1, 500_000_000)));
        for (int i = 0; i < 100_000; i++) {
            Instant instant = Instant.ofEpochSecond(random.nextLong(-70_000_000_000L, 260_000_000_000L), random.nextInt(1_000_000_000));
            instants.add(instant);
            instants.add(instant.truncatedTo(ChronoUnit.MICROS));
            instants.add(instant.truncatedTo(ChronoUnit.MILLIS));
        }
        for (Instant instant : instants) {
            assertThat(Json.write(Map.of("at", instant)))
                    .as(instant.toString()).isEqualTo("{\"at\":\"" + DateTimeFormatter.ISO_INSTANT.format(instant) + "\"}");
        }
    }

    @Test
    void floats_parse_to_the_nearest_float_as_the_jdk_parses_them() throws Exception {
        var random = new SplittableRandom(12);
        List<String> numbers = new ArrayList<>(List.of("0", "-0.0", "1e-45", "1.4E-45", "3.4028235e38", "0.1",
                "0.30000000000000004", "1.00000005960464477539062", "-2.5e-10", "7038531e-32"));
        for (int i = 0; i < 20_000; i++) {
            numbers.add(Float.toString(Float.intBitsToFloat(random.nextInt()) % 10));
            numbers.add(Double.toString(random.nextDouble(-1, 1))); // seventeen digits, as Python's json writes floats
        }
        numbers.removeIf(n -> n.contains("NaN") || n.contains("Infinity"));
        float[] parsed = Json.MAPPER.readValue("[" + String.join(",", numbers) + "]", float[].class);
        for (int i = 0; i < numbers.size(); i++) {
            assertThat(parsed[i]).as(numbers.get(i)).isEqualTo(Float.parseFloat(numbers.get(i)));
        }
    }
}
