package dev.parley.monitor;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.util.concurrent.TimeUnit;

/**
 * A latency histogram as read at one moment: cumulative counts at fixed upper bounds (seconds), plus the total, and
 * {@code maxSeconds}, the slowest latency recorded since the reading before (0: none known), which no quantile exceeds.
 */
record Histogram(long count, double sumSeconds, double[] bounds, double[] cumulative, double maxSeconds) {
    static final Histogram EMPTY = new Histogram(0, 0, new double[0], new double[0], 0);

    /** {@code slowestSeconds}: the slowest latency {@code timer} recorded since the reading before. */
    static Histogram of(Timer timer, double slowestSeconds) {
        var snapshot = timer.takeSnapshot();
        CountAtBucket[] buckets = snapshot.histogramCounts();
        double[] bounds = new double[buckets.length];
        double[] cumulative = new double[buckets.length];
        for (int i = 0; i < buckets.length; i++) {
            bounds[i] = buckets[i].bucket(TimeUnit.SECONDS);
            cumulative[i] = buckets[i].count();
        }
        return new Histogram(snapshot.count(), snapshot.total(TimeUnit.SECONDS), bounds, cumulative, slowestSeconds);
    }

    /** What happened between {@code earlier} and this reading (this reading's maximum: see {@link #atMost}). */
    Histogram since(Histogram earlier) {
        if (earlier.bounds.length != bounds.length) {
            return this;
        }
        double[] delta = new double[cumulative.length];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = cumulative[i] - earlier.cumulative[i];
        }
        return new Histogram(count - earlier.count, sumSeconds - earlier.sumSeconds, bounds, delta, maxSeconds);
    }

    /** This and {@code other} together; both must have the same bounds (all routes share theirs). */
    Histogram plus(Histogram other) {
        if (bounds.length == 0) {
            return other;
        }
        double[] sum = cumulative.clone();
        for (int i = 0; i < sum.length && i < other.cumulative.length; i++) {
            sum[i] += other.cumulative[i];
        }
        return new Histogram(count + other.count, sumSeconds + other.sumSeconds, bounds, sum, Math.max(maxSeconds, other.maxSeconds));
    }

    /** The same counts, with {@code max} (seconds; 0: unknown) as the bound on their largest latency. */
    Histogram atMost(double max) {
        return new Histogram(count, sumSeconds, bounds, cumulative, max);
    }

    /**
     * The q-quantile in milliseconds, interpolated within its bucket as Prometheus' histogram_quantile does;
     * the largest bound when it lies beyond all of them, 0 with no observations; never above the maximum when it is
     * known (one request of 2.07 s read as a p50 of 3 s, the middle of its bucket, and a p99 of 4.96 s).
     */
    double quantileMillis(double q) {
        double interpolated = interpolatedMillis(q);
        return maxSeconds > 0 ? Math.min(interpolated, maxSeconds * 1000) : interpolated;
    }

    private double interpolatedMillis(double q) {
        if (count <= 0 || bounds.length == 0) {
            return 0;
        }
        double rank = q * count;
        for (int i = 0; i < bounds.length; i++) {
            if (cumulative[i] >= rank) {
                double lower = i == 0 ? 0 : bounds[i - 1];
                double below = i == 0 ? 0 : cumulative[i - 1];
                double inBucket = cumulative[i] - below;
                double fraction = inBucket <= 0 ? 1 : (rank - below) / inBucket;
                return (lower + (bounds[i] - lower) * fraction) * 1000;
            }
        }
        return bounds[bounds.length - 1] * 1000;
    }

    double meanMillis() {
        return count <= 0 ? 0 : sumSeconds / count * 1000;
    }
}
