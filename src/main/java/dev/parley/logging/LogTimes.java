package dev.parley.logging;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * A log line's time in UTC to the millisecond, {@code 2026-12-03T22:38:40.628Z}. Lines come thousands a
 * second with the access log on, nearly all within the second before them: the text up to the second is
 * made once a second and reused, and only the milliseconds are written for each line. A
 * {@link DateTimeFormatter} at work for every line was about a tenth of what an access line allocated
 * (JFR, docs/benchmarks.md "Log lines that allocate less").
 */
final class LogTimes {
    private static final DateTimeFormatter TO_THE_SECOND = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.")
            .withZone(ZoneOffset.UTC);

    /** The second last formatted and its text up to the milliseconds; lines of any second are right, not only this one. */
    private record Second(long epochSecond, String text) {
    }

    private static volatile Second last = new Second(Long.MIN_VALUE, "");

    private LogTimes() {
    }

    static String format(Instant time) {
        Second second = last;
        if (second.epochSecond() != time.getEpochSecond()) {
            second = new Second(time.getEpochSecond(), TO_THE_SECOND.format(time));
            last = second;
        }
        int millis = time.getNano() / 1_000_000;
        String text = second.text();
        char[] line = new char[text.length() + 4];
        text.getChars(0, text.length(), line, 0);
        int at = text.length();
        line[at] = (char) ('0' + millis / 100);
        line[at + 1] = (char) ('0' + millis / 10 % 10);
        line[at + 2] = (char) ('0' + millis % 10);
        line[at + 3] = 'Z';
        return new String(line);
    }
}
