package dev.parley.config;

import java.time.Duration;

/**
 * When counter increments held in memory are written to PostgreSQL: once a conversation's or a
 * user's counters have taken {@code increments} increments, or {@code after} the first of them,
 * whichever comes first (PARLEY_COUNTER_FLUSH_EVERY, PARLEY_COUNTER_FLUSH_AFTER). The defaults are
 * the seeds' "increment in cache, sync to DB every 10 points", bounded to 5 seconds.
 */
public record CounterFlush(int increments, Duration after) {
    public static final CounterFlush DEFAULTS = new CounterFlush(10, Duration.ofSeconds(5));
    private static final Duration FINEST_CHECK = Duration.ofMillis(5);

    /** How often to look for counters due by time: a tenth of the window, so none waits more than 10% past it. */
    public Duration checkEvery() {
        Duration tenth = after.dividedBy(10);
        return tenth.compareTo(FINEST_CHECK) < 0 ? FINEST_CHECK : tenth;
    }

    /** "10 increments or 5s". */
    @Override
    public String toString() {
        return increments + (increments == 1 ? " increment" : " increments") + " or " + Durations.format(after);
    }
}
