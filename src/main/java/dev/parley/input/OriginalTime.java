package dev.parley.input;

import dev.parley.chat.InvalidInput;
import dev.parley.db.Ids;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * An original {@code created_at} given by an import (a conversation, a message, a memory recorded
 * elsewhere first): an ISO 8601 time with an offset, no later than now plus {@link #CLOCK_SKEW} (the
 * client's clock may run a little ahead), no earlier than 2000, where Parley's ids begin.
 */
public final class OriginalTime {
    /** How far in the future an imported created_at may be: clients' clocks run a little ahead. */
    public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    private static final Instant EARLIEST = Instant.ofEpochMilli(Ids.EPOCH_MILLIS);

    private OriginalTime() {
    }

    /** The time in {@code raw}, or null when none was given; a 400 naming {@code field} when it cannot be one. */
    public static Instant of(String field, String raw, Clock clock) {
        if (raw == null) {
            return null;
        }
        Instant time;
        try {
            time = OffsetDateTime.parse(raw).toInstant();
        } catch (DateTimeParseException e) {
            throw new InvalidInput(field, "must be an ISO 8601 time with an offset, such as 2024-05-01T12:00:00Z, got '"
                    + Check.printable(raw) + "'");
        }
        Instant latest = clock.instant().plus(CLOCK_SKEW);
        if (time.isAfter(latest)) {
            throw new InvalidInput(field, "is " + time + ", in the future (beyond a " + CLOCK_SKEW.toSeconds()
                    + "s clock skew); an import keeps the time a record was first made");
        }
        if (time.isBefore(EARLIEST)) {
            throw new InvalidInput(field, "is " + time + ", before " + EARLIEST + ", the earliest time Parley stores");
        }
        return time;
    }
}
