package dev.parley.bench;

import dev.parley.chat.NewMessage;
import java.util.SplittableRandom;

/**
 * One way of doing the workload's operations: through Parley's HTTP API, through Parley's own SQL
 * with no HTTP in between ("raw"), or the way the seeds' "before" sections did it ("naive"); for appends
 * also as the simplest store would ("bare") and as Parley's SQL with a transaction per request ("single").
 */
interface Target extends AutoCloseable {
    String name();

    /** A worker's own session (an HTTP connection, say); sessions are used by one thread each. */
    Session session() throws Exception;

    /** The target's cache counters so far, or null for a target with no cache to count (raw and naive SQL). */
    default CacheCounts cacheCounts() throws Exception {
        return null;
    }

    /** The CPU time of the server process this target drives, when it runs apart from the bench; else null. */
    default Long serverCpuNanos() throws Exception {
        return null;
    }

    /**
     * The text of the {@code n}th message a target appends: a user's turn as the dataset's are written (its length and
     * its words drawn as {@link TextGenerator} draws them), the same for every target. Appended messages are searched
     * by later runs; a fixed sentence put one of the search mix's words ("stars") in every one of them, so a heavy
     * user's newest week matched it 76,000 times and searches after an append run measured that, not the dataset.
     */
    static String messageText(long n) {
        return TextGenerator.message(new SplittableRandom(n), "user");
    }

    /** The {@code n}th message as Parley's own code takes it (a user's, with {@link #messageText}). */
    static NewMessage message(long n) {
        return new NewMessage("user", messageText(n), null, null, null, null, null);
    }

    /** What the staleness checker found so far, or null for a target it does not watch. */
    default Freshness.Counts freshness() {
        return null;
    }

    interface Session extends AutoCloseable {
        /** Performs one operation; throws if it did not succeed. */
        void run(Operation operation, Population.Pick pick) throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    @Override
    default void close() throws Exception {
    }

    /** The target refused the operation (503 or 429: it shed load); counted and timed apart from failures. */
    final class Rejected extends Exception {
        Rejected(String message) {
            super(message, null, false, false);
        }
    }
}
