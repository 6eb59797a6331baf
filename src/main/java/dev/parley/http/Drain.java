package dev.parley.http;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A graceful stop as clients see it: once draining, every new request, on a connection old or new,
 * is answered 503 {@code shutting-down} with Retry-After (nothing of it ran, so a retry anywhere is
 * safe), while the requests already running finish. Only then does the server stop listening. Liveness answers 200
 * throughout: the process answers.
 */
final class Drain {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    static final String LIVENESS = "/health/live";

    private int running;
    private volatile boolean draining;

    /** The handler, counted while it runs. */
    Handler tracked(Handler handler) {
        return ctx -> {
            enter();
            try {
                handler.handle(ctx);
            } finally {
                leave();
            }
        };
    }

    /**
     * Before every request: refuse it when draining; but liveness, which says only that the process answers. A drain
     * is no fault: an orchestrator that restarted an instance whose liveness failed would cut its drain short.
     */
    void admit(Context ctx) {
        if (draining && !ctx.path().equals(LIVENESS)) {
            ctx.header("Connection", "close");
            throw new ShuttingDown();
        }
    }

    /** Refuses new requests from now on and waits, at most {@code timeout}, for the running ones to finish. */
    void drain(Duration timeout) {
        lock.lock();
        try {
            draining = true;
            long left = timeout.toNanos();
            while (running > 0 && left > 0) {
                left = idle.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    private void enter() {
        lock.lock();
        try {
            running++;
        } finally {
            lock.unlock();
        }
    }

    private void leave() {
        lock.lock();
        try {
            if (--running == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The request came while this instance drains for a stop. */
    static final class ShuttingDown extends RuntimeException {
        ShuttingDown() {
            super("this Parley instance is shutting down", null, false, false);
        }
    }
}
