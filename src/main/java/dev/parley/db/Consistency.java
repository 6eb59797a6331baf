package dev.parley.db;

import java.util.function.Supplier;

/**
 * What the reads on this thread may be served by, when read replicas are configured ({@link Replicas}):
 * any replica within the lag bound (the default), only one that has replayed past a write the client has
 * seen ({@link #runAfter}, the request's consistency token), or only the primary ({@link #primaryOnly}: a
 * cache fill, which must not keep a lagging replica's answer for a whole TTL).
 */
public final class Consistency {
    /** A WAL position: PostgreSQL's {@code pg_lsn}, as a number. */
    public record Lsn(long position) implements Comparable<Lsn> {
        /** Parses PostgreSQL's text form, "16/B374D848"; IllegalArgumentException when it is not one. */
        public static Lsn parse(String text) {
            int slash = text.indexOf('/');
            if (slash < 1 || slash > 8 || text.length() - slash - 1 < 1 || text.length() - slash - 1 > 8
                    || !hexDigits(text.substring(0, slash)) || !hexDigits(text.substring(slash + 1))) { // parseLong takes signs
                throw new IllegalArgumentException("not a WAL position (like 16/B374D848): " + text);
            }
            return new Lsn(Long.parseLong(text, 0, slash, 16) << 32 | Long.parseLong(text, slash + 1, text.length(), 16));
        }

        private static boolean hexDigits(String text) {
            return text.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f');
        }

        @Override
        public String toString() {
            return Long.toHexString(position >>> 32).toUpperCase() + "/" + Long.toHexString(position & 0xFFFFFFFFL).toUpperCase();
        }

        @Override
        public int compareTo(Lsn other) {
            return Long.compareUnsigned(position, other.position);
        }
    }

    private static final ThreadLocal<Lsn> AFTER = new ThreadLocal<>();
    private static final ThreadLocal<Boolean> PRIMARY_ONLY = new ThreadLocal<>();

    private Consistency() {
    }

    /** Runs {@code work} with its reads served only by a server that has replayed past {@code lsn}. */
    public static void runAfter(Lsn lsn, Lane.Work work) throws Exception {
        Lsn outer = AFTER.get();
        AFTER.set(lsn);
        try {
            work.run();
        } finally {
            if (outer == null) {
                AFTER.remove();
            } else {
                AFTER.set(outer);
            }
        }
    }

    /** Runs {@code work} with its reads served by the primary alone. */
    public static <T> T primaryOnly(Supplier<T> work) {
        if (Boolean.TRUE.equals(PRIMARY_ONLY.get())) {
            return work.get();
        }
        PRIMARY_ONLY.set(true);
        try {
            return work.get();
        } finally {
            PRIMARY_ONLY.remove();
        }
    }

    /** The position this thread's reads must have seen, or null. */
    static Lsn after() {
        return AFTER.get();
    }

    static boolean primaryOnly() {
        return Boolean.TRUE.equals(PRIMARY_ONLY.get());
    }
}
