package dev.parley.support;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/** The one way tests wait: poll a condition until it holds or a deadline passes. No fixed sleeps. */
public final class Wait {
    private static final Duration POLL = Duration.ofMillis(20);

    private Wait() {
    }

    /** Polls {@code condition} until it is true and returns how long that took; fails naming {@code what} after {@code timeout}. */
    public static Duration until(String what, Duration timeout, Callable<Boolean> condition) {
        long start = System.nanoTime();
        forValue(what, timeout, () -> Boolean.TRUE.equals(condition.call()) ? Optional.of(true) : Optional.empty());
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** Polls {@code probe} until it yields a value and returns it; fails naming {@code what} after {@code timeout}. */
    public static <T> T forValue(String what, Duration timeout, Callable<Optional<T>> probe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            try {
                Optional<T> value = probe.call();
                if (value.isPresent()) {
                    return value.get();
                }
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + timeout.toMillis() + " ms for " + what, last);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(POLL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting", e);
        }
    }
}
