package dev.parley.config;

import java.time.Duration;

/**
 * How long a request's database work may take: one statement at most {@code statementTimeout}
 * (PARLEY_STATEMENT_TIMEOUT), a wait for a row or table lock at most {@code lockTimeout} (PARLEY_LOCK_TIMEOUT).
 * Past either the request is answered 503 at once instead of holding its connection while others queue behind it.
 * Background work (maintenance, archive, retention, analytics refresh) runs on a pool of its own without them.
 */
public record RequestLimits(Duration statementTimeout, Duration lockTimeout) {
    /** The lock budget when PARLEY_LOCK_TIMEOUT is not set, unless the statement budget is shorter. */
    static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(2);

    public RequestLimits {
        if (lockTimeout.compareTo(statementTimeout) > 0) {
            throw new InvalidSetting(null, "PARLEY_LOCK_TIMEOUT", "is " + Durations.format(lockTimeout) + ", longer than "
                    + "PARLEY_STATEMENT_TIMEOUT (" + Durations.format(statementTimeout) + "), which would stop the wait first");
        }
    }

    static RequestLimits resolve(SettingSource source) {
        Duration statement = source.duration(null, null, "PARLEY_STATEMENT_TIMEOUT", Duration.ofSeconds(10),
                Duration.ofMillis(100), Duration.ofHours(1));
        Duration lockDefault = DEFAULT_LOCK_TIMEOUT.compareTo(statement) < 0 ? DEFAULT_LOCK_TIMEOUT : statement;
        return new RequestLimits(statement, source.duration(null, null, "PARLEY_LOCK_TIMEOUT", lockDefault,
                Duration.ofMillis(10), Duration.ofHours(1)));
    }

    @Override
    public String toString() {
        return "statement " + Durations.format(statementTimeout) + ", lock " + Durations.format(lockTimeout);
    }
}
