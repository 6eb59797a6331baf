package dev.parley.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.InvalidInput;
import dev.parley.config.Durations;
import dev.parley.input.Check;
import io.javalin.http.Context;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Path and query parameters, parsed and bounded, with errors that name the parameter. */
final class Params {
    private static final int MAX_ID_DIGITS = 19;

    private Params() {
    }

    /** A path id: digits only, positive, within 64 bits. */
    static long id(Context ctx, String name) {
        return parseId(name, ctx.pathParam(name));
    }

    static Long optionalId(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        return raw == null ? null : parseId(name, raw);
    }

    static long requiredId(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            throw new InvalidInput(name, "is a required query parameter");
        }
        return parseId(name, raw);
    }

    static long parseId(String name, String raw) {
        if (raw.length() > MAX_ID_DIGITS || !Check.isAsciiDigits(raw)) {
            throw new InvalidInput(name, "must be a positive integer id, got '" + Check.printable(raw) + "'");
        }
        long value;
        try {
            value = Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw new InvalidInput(name, "is out of range: '" + raw + "'");
        }
        if (value <= 0) {
            throw new InvalidInput(name, "must be a positive integer id, got '" + raw + "'");
        }
        return value;
    }

    /** A comma-separated list of 1 to {@code max} ids ({@code ids=1,2,3}), duplicates dropped. */
    static List<Long> ids(Context ctx, String name, int max) {
        String raw = ctx.queryParam(name);
        if (raw == null || raw.isEmpty()) {
            throw new InvalidInput(name, "must list at least one id, such as " + name + "=1,2,3");
        }
        String[] parts = raw.split(",", -1);
        if (parts.length > max) {
            throw new InvalidInput(name, "lists " + parts.length + " ids; the limit is " + max);
        }
        Set<Long> ids = new LinkedHashSet<>();
        for (String part : parts) {
            ids.add(parseId(name, part.strip()));
        }
        return List.copyOf(ids);
    }

    /** An integer query parameter between 1 and {@code max}, or {@code fallback} when absent. */
    static int limit(Context ctx, String name, int fallback, int max) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return fallback;
        }
        int value;
        try {
            if (!Check.isAsciiDigits(raw)) {
                throw new NumberFormatException(raw);
            }
            value = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new InvalidInput(name, "must be an integer between 1 and " + max + ", got '" + Check.printable(raw) + "'");
        }
        if (value < 1 || value > max) {
            throw new InvalidInput(name, "must be between 1 and " + max + ", got " + value);
        }
        return value;
    }

    static boolean flag(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return false;
        }
        return switch (raw) { // not 1 or 0: the API document says boolean, and a body's booleans take neither
            case "true" -> true;
            case "false" -> false;
            default -> throw new InvalidInput(name, "must be true or false, got '" + Check.printable(raw) + "'");
        };
    }

    /** A JSON object given in a query parameter, such as {@code traits={"energy":"calm"}}. */
    static JsonNode jsonObject(Context ctx, String name, int maxBytes) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return null;
        }
        JsonNode node;
        try {
            node = Requests.STRICT.readTree(raw);
        } catch (Exception e) {
            throw new InvalidInput(name, e instanceof JsonParseException p && Requests.isDuplicate(p)
                    ? "gives a key twice (" + p.getOriginalMessage() + "); each key may appear once"
                    : e instanceof StreamConstraintsException limit // too deep: it is an object, past what is read
                    ? "is beyond Parley's limits: " + Check.withoutJavaNames(limit.getOriginalMessage())
                    : "must be a JSON object such as {\"energy\":\"calm\"}");
        }
        if (node == null || !node.isObject() || node.isEmpty()) {
            throw new InvalidInput(name, "must be a non-empty JSON object such as {\"energy\":\"calm\"}");
        }
        return Check.json(name, node, maxBytes);
    }

    /** A time window such as 30s, 1m or 1h, between a second and {@code max}; {@code fallback} (may be null) when absent. */
    static Duration window(Context ctx, String name, Duration fallback, Duration max) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return fallback;
        }
        Duration window;
        try {
            window = Durations.parse(raw);
        } catch (IllegalArgumentException e) {
            window = null;
        }
        if (window == null || window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(max) > 0) {
            // one message for both: an example beyond max would itself be refused
            throw new InvalidInput(name, "must be a span from 1s to " + Durations.format(max) + ", such as 30s or "
                    + Durations.format(max) + ", got '" + Check.printable(raw) + "'");
        }
        return window;
    }

    /**
     * An RFC 3339 instant with its offset, such as 2026-12-01T18:00:00Z, or null when absent. RFC 3339's years have
     * four digits: Java would also read +999999999-12-31T00:00:00Z, which no arithmetic on milliseconds survives.
     */
    static Instant instant(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return null;
        }
        OffsetDateTime time;
        try {
            time = OffsetDateTime.parse(raw);
        } catch (DateTimeParseException e) {
            time = null;
        }
        if (time == null || !inFourDigitYears(time.getYear())) {
            throw new InvalidInput(name, "must be an RFC 3339 instant such as 2026-12-01T18:00:00Z (years 0001 to 9999), got '"
                    + Check.printable(raw) + "'");
        }
        return time.toInstant();
    }

    /** Whether a year is one RFC 3339 and ISO 8601's basic form can write: 0001 to 9999. */
    static boolean inFourDigitYears(int year) {
        return year >= 1 && year <= 9999;
    }

    /** true or false, or null when absent. */
    static Boolean optionalFlag(Context ctx, String name) {
        return ctx.queryParam(name) == null ? null : flag(ctx, name);
    }
}
