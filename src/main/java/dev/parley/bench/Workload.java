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

    record Plan(String mixName, int concurrency, Duration warmup, Duration duration, double rate, long seed) {
    }

    /**
     * What one target did in the measured period. {@code completed} counts the operations that
     * really ran; a closed loop's histograms also hold the samples back-filled for stalls, so their
     * counts are no measure of throughput.
     */
    record Result(String target, Map<Operation, Histogram> latencies, Map<Operation, Histogram> rejections,
                  Map<Operation, Long> completed, Map<Operation, Long> errors, Map<Operation, String> firstErrors,
                  Duration measured) {
        long operations() {
            return completed.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private Workload() {
    }

    static Result run(Target target, Population population, Plan plan) throws Exception {
        Mix mix = Mix.named(plan.mixName());
        List<Target.Session> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < plan.concurrency(); i++) {
                sessions.add(target.session());
            }
            Result warm = phase(target.name(), sessions, population, mix, plan, plan.warmup(), 0, plan.seed());
            long expectedMicros = warm.operations() == 0 ? 0
                    : warm.measured().toNanos() / 1000 * plan.concurrency() / warm.operations();
            return phase(target.name(), sessions, population, mix, plan, plan.duration(), expectedMicros, plan.seed() + 7);
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
        try (var workers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Worked>> done = new ArrayList<>();
            for (int w = 0; w < sessions.size(); w++) {
                Target.Session session = sessions.get(w);
                var random = new SplittableRandom(seed * 1_000_003 + w);
                long firstDue = start + (periodNanos == 0 ? 0 : periodNanos * w / sessions.size());
                done.add(workers.submit(() -> {
                    var mine = new Worked(new EnumMap<>(Operation.class), new EnumMap<>(Operation.class));
                    long due = firstDue;
                    while (true) {
                        if (periodNanos > 0) {
                            long wait = due - System.nanoTime();
                            if (wait > 0) {
                                LockSupport.parkNanos(wait);
                            }
                        }
                        long began = periodNanos > 0 ? due : System.nanoTime();
                        if (began >= end) {
                            break;
                        }
                        Operation op = mix.next(random);
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
                        due += periodNanos;
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
                enumMap(firstErrors), Duration.ofNanos(Math.max(1, System.nanoTime() - start)));
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
