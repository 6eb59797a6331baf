package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HistogramTest {
    private final Timer timer = Timer.builder("test.latency").serviceLevelObjectives(Metrics.QUERY_BUCKETS)
            .register(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    private final Slowest slowest = new Slowest();
    private final Slowest.Timed timed = slowest.track(timer);

    @Test
    void percentiles_interpolate_within_the_fixed_buckets_as_prometheus_does() {
        record(50, Duration.ofMillis(1));
        record(50, Duration.ofMillis(20));

        Histogram h = reading();

        assertThat(h.count()).isEqualTo(100);
        assertThat(h.cumulative()).isSorted();
        assertThat(h.quantileMillis(0.5)).isCloseTo(1.0, within(1e-9)); // the 50th lies at the top of the 1 ms bucket
        // 49 of the 50 in (10 ms, 100 ms] interpolate to 98.2 ms, past the largest recorded: that is the bound
        assertThat(h.quantileMillis(0.99)).isCloseTo(20, within(1e-6));
        assertThat(h.atMost(0).quantileMillis(0.99)).as("with no maximum known").isCloseTo(10 + 90 * 0.98, within(1e-9));
        assertThat(h.meanMillis()).isCloseTo(10.5, within(1e-6));
    }

    @Test
    void the_difference_of_two_readings_is_what_happened_between_them() {
        record(10, Duration.ofMillis(1));
        Histogram before = reading();
        record(10, Duration.ofMillis(200));

        Histogram between = reading().since(before);

        assertThat(between.count()).isEqualTo(10);
        assertThat(between.quantileMillis(0.5)).isGreaterThan(100).isLessThanOrEqualTo(1000);
        assertThat(Histogram.EMPTY.quantileMillis(0.99)).isZero();
    }

    @Test
    void no_quantile_of_one_slow_request_exceeds_its_latency() {
        record(1, Duration.ofMillis(2074));

        Histogram h = reading();

        assertThat(h.quantileMillis(0.5)).isCloseTo(2074, within(1e-6)); // not 3,000, the middle of (1 s, 5 s]
        assertThat(h.quantileMillis(0.99)).isCloseTo(2074, within(1e-6));
    }

    @Test
    void a_latency_beyond_every_bucket_reads_as_the_largest_bound() {
        record(1, Duration.ofSeconds(30));

        assertThat(reading().quantileMillis(0.99)).isEqualTo(5000);
    }

    private void record(int times, Duration each) {
        for (int i = 0; i < times; i++) {
            timed.record(each.toNanos());
        }
    }

    /** The timer as the timeline reads it, with the slowest since the reading before. */
    private Histogram reading() {
        return Histogram.of(timer, slowest.take(timer));
    }
}
