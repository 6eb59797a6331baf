package dev.parley.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/** Durations as people type them: 250ms, 2s, 5m, 1h; a bare number is milliseconds. */
public final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,15})\\s*(ms|s|m|h)?");

    private Durations() {
    }

    /** "30m", "15s", "250ms": the largest unit that divides it. */
    public static String format(Duration duration) {
        long millis = duration.toMillis();
        if (millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        } else if (millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        } else if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }

    /** The duration {@code text} names; an IllegalArgumentException says what was wrong with it. */
    public static Duration parse(String text) {
        var m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration such as 250ms, 2s or 5m: '" + text + "'");
        }
        long amount = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "ms" : m.group(2)) {
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofMillis(amount);
        };
    }
}
