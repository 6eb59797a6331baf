package dev.parley.support;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Polls a condition until it holds, instead of sleeping for a time that is too long or too short. */
public final class Await {
    private static final Duration POLL = Duration.ofMillis(50);

    private Await() {
    }

    /** Returns how long {@code condition} took to hold; fails naming {@code what} if it did not within {@code limit}. */
    public static Duration until(String what, Duration limit, Callable<Boolean> condition) throws Exception {
        long start = System.nanoTime();
        long deadline = start + limit.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + limit.toMillis() + " ms: " + what);
            }
            Thread.sleep(POLL);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
