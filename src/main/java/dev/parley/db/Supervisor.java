package dev.parley.db;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded PostgreSQL of one data folder running for as long as this process needs it.
 *
 * <p>While this process runs the postmaster, it is restarted whenever it exits: at once, then after
 * 0.25 s, doubling to at most 10 s, each attempt logged with its cause, until one succeeds or supervision
 * is closed. Attempts fail while a killed postmaster's orphan backends still hold its shared memory;
 * PostgreSQL refuses to start then, and a later attempt succeeds once they have exited.
 *
 * <p>While another process runs it (this one attached), the server is looked for every {@link #CHECK_EVERY};
 * once it is gone (that process stopped it on its way out, say in a rolling upgrade) this process starts it
 * itself, on the same port with the same settings, and from then on supervises it as its own. Two processes
 * may both try: PostgreSQL's lock file lets one start, and an attempt that fails while another process's
 * server is running goes back to watching that one; so does an owner's restart that another process beat.
 * The pool needs no help: HikariCP reconnects by itself once the server is back.
 */
final class Supervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
    static final Duration FIRST_DELAY = Duration.ofMillis(250);
    static final Duration LONGEST_DELAY = Duration.ofSeconds(10);
    static final Duration CHECK_EVERY = Duration.ofSeconds(1);

    private final Postmaster postmaster;
    private final Supplier<Optional<Integer>> running; // the port of a live server on the data folder, whoever runs it
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private boolean closed; // guarded by this
    private Future<?> nextAttempt; // guarded by this
    private Future<?> checks; // guarded by this; while attached
    private boolean warnedOfPort; // guarded by this

    private Supervisor(Postmaster postmaster, Supplier<Optional<Integer>> running, ScheduledExecutorService scheduler, Clock clock) {
        this.postmaster = postmaster;
        this.running = running;
        this.scheduler = scheduler;
        this.clock = clock;
    }

    /** Watches the postmaster this process runs; restarts run on {@code scheduler}, downtime is measured by {@code clock}. */
    static Supervisor watch(Postmaster postmaster, Supplier<Optional<Integer>> running, ScheduledExecutorService scheduler, Clock clock) {
        var supervisor = new Supervisor(postmaster, running, scheduler, clock);
        supervisor.watchCurrent();
        return supervisor;
    }

    /** Watches the server another process runs on {@code postmaster}'s folder and port, to take it over once it is gone. */
    static Supervisor standBy(Postmaster postmaster, Supplier<Optional<Integer>> running, ScheduledExecutorService scheduler, Clock clock) {
        var supervisor = new Supervisor(postmaster, running, scheduler, clock);
        supervisor.checkPeriodically();
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

    private synchronized void checkPeriodically() {
        checks = scheduler.scheduleWithFixedDelay(this::check, CHECK_EVERY.toMillis(), CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private synchronized void check() {
        if (closed || nextAttempt != null) {
            return;
        }
        Optional<Integer> port = running.get();
        if (port.isPresent()) {
            if (port.get() != postmaster.port() && !warnedOfPort) {
                warnedOfPort = true;
                LOG.error("the embedded PostgreSQL in {} now runs on port {}, not on port {} that this process connects to; "
                        + "restart this process, and give every Parley on this data folder one --embedded-port (PARLEY_EMBEDDED_PORT)",
                        postmaster.dataDir(), port.get(), postmaster.port());
            }
            return;
        }
        checks.cancel(false);
        checks = null;
        LOG.warn("the embedded PostgreSQL in {} that this process attached to is gone (the Parley that ran it stopped?); "
                + "taking it over: starting it here on port {} and restarting it from now on", postmaster.dataDir(), postmaster.port());
        attempt(1, clock.instant());
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
        nextAttempt = null;
        if (closed) {
            return;
        }
        try {
            postmaster.start();
            LOG.info("restarted the embedded PostgreSQL in {} on attempt {}, {} ms after it stopped",
                    postmaster.dataDir(), attempt, Duration.between(stoppedAt, clock.instant()).toMillis());
            watchCurrent();
        } catch (RuntimeException e) {
            if (running.get().isPresent()) {
                LOG.info("another process started the embedded PostgreSQL in {} first; this one uses it and takes it over "
                        + "if it goes away", postmaster.dataDir());
                checkPeriodically();
                return;
            }
            Duration delay = delayAfter(attempt);
            LOG.warn("restart attempt {} failed; the next in {} ms. {}", attempt, delay.toMillis(), e.getMessage());
            nextAttempt = scheduler.schedule(() -> attempt(attempt + 1, stoppedAt), delay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** No restart or take-over after this returns; one in progress finishes first. */
    @Override
    public synchronized void close() {
        closed = true;
        if (nextAttempt != null) {
            nextAttempt.cancel(false);
        }
        if (checks != null) {
            checks.cancel(false);
        }
    }
}
