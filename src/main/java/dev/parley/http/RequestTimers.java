package dev.parley.http;

import dev.parley.metrics.Metrics;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The {@code parley.http.request} timer of each method, route template and status, found per request by
 * the matched endpoint (an identity lookup) and the status code (an array index): no key string is
 * built and no tag is formatted once a combination has been seen.
 */
final class RequestTimers {
    private static final int STATUSES = 600;

    private final MeterRegistry registry;
    /** Per matched endpoint, or per method for requests no route matched. */
    private final ConcurrentHashMap<Object, AtomicReferenceArray<Timer>> byEndpoint = new ConcurrentHashMap<>();

    RequestTimers(MeterRegistry registry) {
        this.registry = registry;
    }

    void record(HandlerType method, Endpoint endpoint, int status, long nanos) {
        var timers = byEndpoint.computeIfAbsent(endpoint == null ? method : endpoint, k -> new AtomicReferenceArray<>(STATUSES));
        int slot = status > 0 && status < STATUSES ? status : 0;
        Timer timer = timers.get(slot);
        if (timer == null) { // registering the same id twice returns the same timer, so a race costs nothing
            timer = register(method, endpoint == null ? "unmatched" : endpoint.path, String.valueOf(status));
            timers.set(slot, timer);
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer register(HandlerType method, String route, String status) {
        return Timer.builder(Metrics.HTTP_SECONDS)
                .description(Metrics.HTTP_SECONDS_HELP)
                .tag("method", method.name()).tag("route", route).tag("status", status)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000)).maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
    }
}
