package dev.parley.memory;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Where a recall scores its scope. Requests run on virtual threads, which share as many carrier threads as there are
 * cores; a small scope is scored on the request's own thread in microseconds. A large one (thousands of 4096-number
 * vectors) holds its carrier for tens of milliseconds, and a few such recalls at once left no carrier for any other
 * request: /health/live took up to 8 s, and another app's reads a second or more. So a large scope is scored on
 * platform threads of its own, as many as the cores, which the operating system shares the cores with the carriers
 * (time slices, not a queue), while the request's virtual thread waits off its carrier. A few wait for them; a recall
 * past those is refused at once ({@link Busy}, 503 with Retry-After) rather than queued behind seconds of scoring.
 */
public final class RecallScoring {
    /** Numbers a scope holds (memories times dimensions) from which it is scored off the carriers: about a millisecond. */
    static final long LARGE = 1_000_000;
    /** Large recalls that may wait for a scoring thread, per thread. */
    static final int WAITING_PER_THREAD = 8;

    /** Every scoring thread is busy and as many recalls wait as may: try again shortly. */
    public static final class Busy extends RuntimeException {
        Busy(int threads) {
            super("recall is scoring as many large memory scopes as it can at once (" + threads + " at a time, "
                    + threads * WAITING_PER_THREAD + " waiting); retry in a moment");
        }
    }

    private final ThreadPoolExecutor threads;

    RecallScoring(int threads) {
        this.threads = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads * WAITING_PER_THREAD),
                Thread.ofPlatform().name("parley-recall-scoring-", 0).daemon().factory());
        this.threads.allowCoreThreadTimeOut(true); // no threads while no large scope is recalled
    }

    /**
     * As many scoring threads as cores: recall keeps the throughput it had on the carriers, and the operating system,
     * not the carriers' queue, shares the cores between scoring and the other requests.
     */
    static RecallScoring forThisMachine() {
        return new RecallScoring(Runtime.getRuntime().availableProcessors());
    }

    /** Large recalls waiting for a scoring thread: for tests. */
    int waiting() {
        return threads.getQueue().size();
    }

    /** {@code score}'s answer, worked out here if {@code numbers} (the scope's size) is small, else on a scoring thread. */
    <T> T score(long numbers, Supplier<T> score) {
        if (numbers < LARGE) {
            return score.get();
        }
        Future<T> scored;
        try {
            scored = threads.submit(score::get);
        } catch (RejectedExecutionException e) {
            throw new Busy(threads.getMaximumPoolSize());
        }
        try {
            return scored.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException failure ? failure : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            scored.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a scope was scored", e);
        }
    }
}
