package dev.parley.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;

/**
 * Writes an instant exactly as {@link DateTimeFormatter#ISO_INSTANT} does ({@code 2026-11-30T14:22:22.318Z}: UTC,
 * the fraction in groups of three digits, none when zero), with plain arithmetic. The formatter builds a
 * print context and a StringBuilder per call: a history page has fifty timestamps, and formatting them
 * was a quarter of its serialisation (JFR).
 */
final class IsoInstantSerializer extends StdSerializer<Instant> {
    private static final long SECONDS_PER_DAY = 86_400;
    private static final long FIRST_DAY = LocalDate.of(0, 1, 1).toEpochDay();
    private static final long LAST_DAY = LocalDate.of(9999, 12, 31).toEpochDay();

    IsoInstantSerializer() {
        super(Instant.class);
    }

    @Override
    public void serialize(Instant instant, JsonGenerator generator, SerializerProvider provider) throws IOException {
        write(instant, generator);
    }

    static void write(Instant instant, JsonGenerator generator) throws IOException {
        char[] text = new char[30];
        int length = format(instant, text);
        if (length < 0) {
            generator.writeString(DateTimeFormatter.ISO_INSTANT.format(instant));
        } else {
            generator.writeString(text, 0, length);
        }
    }

    /** Writes {@code instant} into {@code text} and returns its length; -1 for years outside 0000-9999, left to the formatter. */
    static int format(Instant instant, char[] text) {
        long days = Math.floorDiv(instant.getEpochSecond(), SECONDS_PER_DAY);
        int secondOfDay = (int) Math.floorMod(instant.getEpochSecond(), SECONDS_PER_DAY);
        if (days < FIRST_DAY || days > LAST_DAY) {
            return -1;
        }
        LocalDate date = LocalDate.ofEpochDay(days);
        int at = digits(text, 0, date.getYear(), 4);
        text[at++] = '-';
        at = digits(text, at, date.getMonthValue(), 2);
        text[at++] = '-';
        at = digits(text, at, date.getDayOfMonth(), 2);
        text[at++] = 'T';
        at = digits(text, at, secondOfDay / 3600, 2);
        text[at++] = ':';
        at = digits(text, at, secondOfDay / 60 % 60, 2);
        text[at++] = ':';
        at = digits(text, at, secondOfDay % 60, 2);
        at = fraction(text, at, instant.getNano());
        text[at++] = 'Z';
        return at;
    }

    /** ".318", ".318500" or ".318500123": as many groups of three digits as the nanoseconds need. */
    private static int fraction(char[] text, int at, int nanos) {
        if (nanos == 0) {
            return at;
        }
        text[at++] = '.';
        if (nanos % 1_000_000 == 0) {
            return digits(text, at, nanos / 1_000_000, 3);
        }
        if (nanos % 1_000 == 0) {
            return digits(text, at, nanos / 1_000, 6);
        }
        return digits(text, at, nanos, 9);
    }

    private static int digits(char[] text, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            text[i] = (char) ('0' + value % 10);
            value /= 10;
        }
        return at + width;
    }
}
