package dev.parley.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The slowest latency each request and statement timer recorded since the monitor's last reading, which caps the
 * percentiles of its windows. A timer's own maximum decays over about two minutes, so it cannot say what the slowest of
 * a window was: a 5 s request raised the percentiles of windows that came after it. A latency recorded while a reading
 * is taken may count in the next one.
 */
public final class Slowest {
    private final ConcurrentMap<Meter.Id, AtomicLong> nanos = new ConcurrentHashMap<>();

    /** {@code timer}, each latency it records kept here too; the recorder holds it, so no latency looks up its timer. */
    public Timed track(Timer timer) {
        return new Timed(timer, nanos.computeIfAbsent(timer.getId(), id -> new AtomicLong()));
    }

    /** The slowest latency {@code timer} recorded since the last call, in seconds (0: none), counting afresh from now. */
    public double take(Timer timer) {
        AtomicLong slowest = nanos.get(timer.getId());
        return slowest == null ? 0 : slowest.getAndSet(0) / 1e9;
    }

    /** A timer whose latencies also count toward its slowest. */
    public static final class Timed {
        private final Timer timer;
        private final AtomicLong slowest;

        private Timed(Timer timer, AtomicLong slowest) {
            this.timer = timer;
            this.slowest = slowest;
        }

        public void record(long nanos) {
            timer.record(nanos, TimeUnit.NANOSECONDS);
            // Written only when slower: accumulateAndGet would write every call, and requests share these lines.
            for (long held = slowest.get(); nanos > held && !slowest.compareAndSet(held, nanos); held = slowest.get()) {
                // another thread wrote between the read and the write: read again
            }
        }
    }
}
