package dev.parley.ops.doctor;

import java.time.Duration;
import java.util.Locale;

/** Sizes, durations and ratios written the way an operator reads them. */
final class Pretty {
    private static final String[] UNITS = {"bytes", "kB", "MB", "GB", "TB"};

    private Pretty() {
    }

    static String bytes(long bytes) {
        double value = bytes;
        int unit = 0;
        while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " bytes" : String.format(Locale.ROOT, "%.1f %s", value, UNITS[unit]);
    }

    static String duration(Duration duration) {
        long seconds = duration.toSeconds();
        if (seconds < 60) {
            return seconds + " s";
        }
        if (seconds < 3600) {
            return (seconds / 60) + " min " + (seconds % 60) + " s";
        }
        if (seconds < 86_400) {
            return (seconds / 3600) + " h " + (seconds % 3600 / 60) + " min";
        }
        return (seconds / 86_400) + " d " + (seconds % 86_400 / 3600) + " h";
    }

    static String seconds(double seconds) {
        return duration(Duration.ofMillis(Math.round(seconds * 1000)));
    }

    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
