package dev.parley.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Drives a target with {@code concurrency} workers for a warm-up and then a measured period, and
 * records each operation's latency in an HdrHistogram.
 *
 * <p>Coordinated omission is corrected both ways HdrHistogram supports. With a target {@code rate}
 * each worker issues operations on a fixed schedule and latency is measured from the moment an
 * operation was due, not from when a stalled worker got round to it. Without one (closed loop, to
 * find the maximum throughput) a stall is back-filled with the samples it hid: the expected
 * interval is a worker's mean time per operation in the warm-up.
 */
final class Workload {
    private static final long MAX_MICROS = Duration.ofMinutes(10).toNanos() / 1000;

    /**
     * {@code checkWrites}: appends per second made in the background through the target, beside the mix
     * (0 for none), so that a read-only mix has acknowledged writes for the staleness checker to hold
     * its reads to, and a cache has entries going stale as in production.
     */
    record Plan(String mixName, int concurrency, Duration warmup, Duration duration, double rate, long seed,
                double checkWrites) {
        Plan(String mixName, int concurrency, Duration warmup, Duration duration, double rate, long seed) {
            this(mixName, concurrency, warmup, duration, rate, seed, 0);
        }

        Plan withWarmup(Duration longer) {
            return new Plan(mixName, concurrency, longer, duration, rate, seed, checkWrites);
        }
    }

    /** The background writer's appends over the whole run, warm-up included. */
    record Background(long appended, long failed, String firstFailure) {
    }

    /**
     * What one target did in the measured period. {@code completed} counts the operations that
     * really ran; a closed loop's histograms also hold the samples back-filled for stalls, so their
     * counts are no measure of throughput. {@code caches} counts the target's cache requests in the measured
     * period, {@code freshness} what the staleness checker found in it; each null for a target without.
     * {@code background} is null when the plan has no background writes. {@code cpu} is the CPU time spent in the
     * measured period, null when nothing measured it.
     */
    record Result(String target, Map<Operation, Histogram> latencies, Map<Operation, Histogram> rejections,
                  Map<Operation, Long> completed, Map<Operation, Long> errors, Map<Operation, String> firstErrors,
                  Duration measured, CacheCounts caches, Freshness.Counts freshness, Background background, CpuUse cpu) {
        long operations() {
            return completed.values().stream().mapToLong(Long::longValue).sum();
        }

        /** The same figures with what was counted around the measured period. */
        Result with(CacheCounts counted, Freshness.Counts checked, Background written, CpuUse spent) {
            return new Result(target, latencies, rejections, completed, errors, firstErrors, measured, counted, checked,
                    written, spent);
        }
    }

    private Workload() {
    }

    /** Runs {@code plan} on {@code target}; {@code cpu} (or null) measures the CPU its measured period took. */
    static Result run(Target target, Population population, Plan plan, CpuUse.Meter cpu) throws Exception {
        Mix mix = Mix.named(plan.mixName());
        List<Target.Session> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < plan.concurrency(); i++) {
                sessions.add(target.session());
            }
            BackgroundWriter writer = plan.checkWrites() > 0
                    ? new BackgroundWriter(target.session(), population, plan.checkWrites(), plan.seed() + 13) : null;
            try {
                Result warm = phase(target.name(), sessions, population, mix, plan, plan.warmup(), 0, plan.seed());
                long expectedMicros = warm.operations() == 0 ? 0
                        : warm.measured().toNanos() / 1000 * plan.concurrency() / warm.operations();
                CacheCounts cachesBefore = target.cacheCounts();
                Freshness.Counts checkedBefore = target.freshness();
                CpuUse cpuBefore = cpu == null ? null : cpu.read(target);
                Result measured = phase(target.name(), sessions, population, mix, plan, plan.duration(), expectedMicros,
                        plan.seed() + 7);
                CpuUse spent = cpu == null ? null : cpu.read(target).since(cpuBefore);
                return measured.with(cachesBefore == null ? null : target.cacheCounts().since(cachesBefore),
                        checkedBefore == null ? null : target.freshness().since(checkedBefore),
                        writer == null ? null : writer.stop(), spent);
            } finally {
                if (writer != null) {
                    writer.stop();
                }
            }
        } finally {
            for (Target.Session session : sessions) {
                session.close();
            }
        }
    }

    private static Result phase(String name, List<Target.Session> sessions, Population population, Mix mix, Plan plan,
                                Duration length, long expectedMicros, long seed) throws Exception {
        var latencies = new ConcurrentHashMap<Operation, Histogram>();
        var rejections = new ConcurrentHashMap<Operation, Histogram>();
        var completed = new ConcurrentHashMap<Operation, AtomicLong>();
        var errors = new ConcurrentHashMap<Operation, AtomicLong>();
        var firstErrors = new ConcurrentHashMap<Operation, String>();
        long start = System.nanoTime();
        long end = start + length.toNanos();
        long periodNanos = plan.rate() > 0 ? (long) (1e9 * sessions.size() / plan.rate()) : 0;
        Mix.Draws draws = mix.draws();
        // A platform thread per worker: a virtual one waits for each answer through the JDK's poller (an epoll_ctl, a
        // wake-up of the poller, a hand-off back), which cost the client twice its CPU a cached page on this machine's
        // two cores, and raw's JDBC as much (docs/benchmarks.md).
        try (var workers = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("bench-worker-", 0).daemon().factory())) {
            List<Future<Worked>> done = new ArrayList<>();
            for (int w = 0; w < sessions.size(); w++) {
                Target.Session session = sessions.get(w);
                var random = new SplittableRandom(seed * 1_000_003 + w);
                // In doubles: at a low rate a period times a worker's number is past a long's range.
                long firstDue = start + (long) Math.min((double) periodNanos * w / sessions.size(), length.toNanos());
                done.add(workers.submit(() -> {
                    var mine = new Worked(new EnumMap<>(Operation.class), new EnumMap<>(Operation.class));
                    long due = firstDue;
                    while (true) {
                        if (periodNanos > 0) {
                            if (due >= end) { // else, at a low rate, it waited out its period past the end (--rate 0.001: for ever)
                                break;
                            }
                            long wait = due - System.nanoTime();
                            if (wait > 0) {
                                LockSupport.parkNanos(wait);
                            }
                        }
                        long began = periodNanos > 0 ? due : System.nanoTime();
                        if (began >= end) {
                            break;
                        }
                        Operation op = draws.next(random);
                        try {
                            session.run(op, population.pick(random));
                            long micros = Math.min(MAX_MICROS, Math.max(1, (System.nanoTime() - began) / 1000));
                            completed.computeIfAbsent(op, k -> new AtomicLong()).incrementAndGet();
                            Histogram h = mine.latencies().computeIfAbsent(op, k -> new Histogram(MAX_MICROS, 3));
                            if (periodNanos == 0 && expectedMicros > 0) {
                                h.recordValueWithExpectedInterval(micros, expectedMicros);
                            } else {
                                h.recordValue(micros);
                            }
                        } catch (Target.Rejected rejected) { // how fast a refusal comes is the figure load shedding is judged by
                            mine.rejections().computeIfAbsent(op, k -> new Histogram(MAX_MICROS, 3))
                                    .recordValue(Math.min(MAX_MICROS, Math.max(1, (System.nanoTime() - began) / 1000)));
                        } catch (Exception e) {
                            errors.computeIfAbsent(op, k -> new AtomicLong()).incrementAndGet();
                            firstErrors.putIfAbsent(op, e.getClass().getSimpleName() + ": " + e.getMessage());
                        }
                        due = end - due <= periodNanos ? end : due + periodNanos; // past the end is the end: no overflow
                    }
                    return mine;
                }));
            }
            for (Future<Worked> worker : done) {
                merge(worker.get().latencies(), latencies);
                merge(worker.get().rejections(), rejections);
            }
        }
        return new Result(name, enumMap(latencies), enumMap(rejections), counts(completed), counts(errors),
                enumMap(firstErrors), Duration.ofNanos(Math.max(1, System.nanoTime() - start)), null, null, null, null);
    }

    /** Appends at a fixed rate through a session of its own, until stopped; not measured, only counted. */
    private static final class BackgroundWriter {
        private final Target.Session session;
        private final Thread thread;
        private final AtomicLong appended = new AtomicLong();
        private final AtomicLong failed = new AtomicLong();
        private final java.util.concurrent.atomic.AtomicReference<String> firstFailure = new java.util.concurrent.atomic.AtomicReference<>();
        private volatile boolean stopped;

        BackgroundWriter(Target.Session session, Population population, double perSecond, long seed) {
            this.session = session;
            long periodNanos = (long) (1e9 / perSecond);
            var random = new SplittableRandom(seed);
            thread = Thread.ofVirtual().name("bench-background-writer").start(() -> {
                long due = System.nanoTime();
                while (!stopped) {
                    LockSupport.parkNanos(due - System.nanoTime());
                    due += periodNanos;
                    try {
                        session.run(Operation.APPEND, population.pick(random));
                        appended.incrementAndGet();
                    } catch (Exception e) {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
                    }
                }
            });
        }

        /** Stops the writer (once; later calls only report) and says what it did. */
        Background stop() throws Exception {
            if (!stopped) {
                stopped = true;
                thread.join();
                session.close();
            }
            return new Background(appended.get(), failed.get(), firstFailure.get());
        }
    }

    /** One worker's histograms: the operations that ran, and those the target refused. */
    private record Worked(Map<Operation, Histogram> latencies, Map<Operation, Histogram> rejections) {
    }

    private static void merge(Map<Operation, Histogram> from, Map<Operation, Histogram> into) {
        from.forEach((op, h) -> into.merge(op, h, (a, b) -> {
            a.add(b);
            return a;
        }));
    }

    private static Map<Operation, Long> counts(Map<Operation, AtomicLong> counters) {
        Map<Operation, Long> counts = new EnumMap<>(Operation.class);
        counters.forEach((op, count) -> counts.put(op, count.get()));
        return counts;
    }

    private static <V> Map<Operation, V> enumMap(Map<Operation, V> map) {
        Map<Operation, V> copy = new EnumMap<>(Operation.class);
        copy.putAll(map);
        return copy;
    }
}
