package dev.parley.live;

import dev.parley.input.Check;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Small maps of text, each under a key and gone some time after its last write: where typing and
 * presence are kept, never in PostgreSQL. {@link LocalMaps} keeps them in this instance's memory;
 * {@link RedisMaps} in Redis, shared by every instance.
 */
public interface ExpiringMaps {
    /** Digits of a time in milliseconds up to the year 33658; more would be no time Parley writes. */
    int MOST_DIGITS = 15;

    /** Sets {@code fields} in the map at {@code key}, which is then kept for {@code keep} from now. */
    void put(String key, Map<String, String> fields, Duration keep);

    /** Removes one field of the map at {@code key}, if there. */
    void remove(String key, String field);

    /** The map at {@code key}; empty when there is none, or it was not written for as long as it was kept. */
    Map<String, String> get(String key);

    /**
     * A time these maps hold (milliseconds since the epoch, as text), or null for text no writer of Parley's makes: a
     * shared Redis may hold what another program or an older release put there, and a reader skips it rather than fail.
     */
    static Instant instantOf(String millis) {
        if (millis == null || millis.length() > MOST_DIGITS || !Check.isAsciiDigits(millis)) {
            return null;
        }
        return Instant.ofEpochMilli(Long.parseLong(millis));
    }
}
