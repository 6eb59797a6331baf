package dev.parley.db;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restarts the embedded PostgreSQL this process started whenever its postmaster exits: at once, then
 * after 0.25 s, doubling to at most 10 s, each attempt logged with its cause, until one succeeds or
 * supervision is closed. Attempts fail while a killed postmaster's orphan backends still hold its shared
 * memory; PostgreSQL refuses to start then, and a later attempt succeeds once they have exited. The pool
 * needs no help: HikariCP reconnects by itself once the server is back.
 */
final class Supervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
    static final Duration FIRST_DELAY = Duration.ofMillis(250);
    static final Duration LONGEST_DELAY = Duration.ofSeconds(10);

    private final Postmaster postmaster;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private boolean closed; // guarded by this
    private Future<?> nextAttempt; // guarded by this

    private Supervisor(Postmaster postmaster, ScheduledExecutorService scheduler, Clock clock) {
        this.postmaster = postmaster;
        this.scheduler = scheduler;
        this.clock = clock;
    }

    /** Watches the running postmaster; restarts run on {@code scheduler}, downtime is measured by {@code clock}. */
    static Supervisor watch(Postmaster postmaster, ScheduledExecutorService scheduler, Clock clock) {
        var supervisor = new Supervisor(postmaster, scheduler, clock);
        supervisor.watchCurrent();
        return supervisor;
    }

    /** The wait after {@code failedAttempts} failed restarts: 0.25 s, 0.5 s, 1 s … at most 10 s. */
    static Duration delayAfter(int failedAttempts) {
        int doublings = Math.min(failedAttempts - 1, 30);
        Duration delay = FIRST_DELAY.multipliedBy(1L << doublings);
        return delay.compareTo(LONGEST_DELAY) > 0 ? LONGEST_DELAY : delay;
    }

    private void watchCurrent() {
        long pid = postmaster.pid();
        postmaster.exited().thenAcceptAsync(process -> exited(pid, process.exitValue()), scheduler);
    }

    private synchronized void exited(long pid, int status) {
        if (closed) {
            return; // stopped on purpose
        }
        LOG.error("the embedded PostgreSQL in {} stopped (postmaster pid {} exited with status {}); restarting it",
                postmaster.dataDir(), pid, status);
        attempt(1, clock.instant());
    }

    private synchronized void attempt(int attempt, Instant stoppedAt) {
        if (closed) {
            return;
        }
        try {
            postmaster.start();
            LOG.info("restarted the embedded PostgreSQL in {} on attempt {}, {} ms after it stopped",
                    postmaster.dataDir(), attempt, Duration.between(stoppedAt, clock.instant()).toMillis());
            watchCurrent();
        } catch (RuntimeException e) {
            Duration delay = delayAfter(attempt);
            LOG.warn("restart attempt {} failed; the next in {} ms. {}", attempt, delay.toMillis(), e.getMessage());
            nextAttempt = scheduler.schedule(() -> attempt(attempt + 1, stoppedAt), delay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** No restart after this returns; one in progress finishes first. */
    @Override
    public synchronized void close() {
        closed = true;
        if (nextAttempt != null) {
            nextAttempt.cancel(false);
        }
    }
}
