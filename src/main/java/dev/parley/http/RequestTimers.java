package dev.parley.http;

import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import io.javalin.router.Endpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The latency histogram of each method and route template, and the response counter of each status
 * under it, found per request by the matched endpoint (an identity lookup) and the status code (an
 * array index): no key string is built and no tag is formatted once a combination has been seen.
 * Statuses count in a plain counter, not a histogram of their own, so they add one line each.
 */
final class RequestTimers {
    private static final int STATUSES = 600;

    private final MeterRegistry registry;
    private final Slowest slowest;
    /** Per matched endpoint, or per method for requests no route matched. */
    private final ConcurrentHashMap<Object, RouteMeters> byEndpoint = new ConcurrentHashMap<>();

    private record RouteMeters(Slowest.Timed latency, AtomicReferenceArray<Counter> responses) {
    }

    /** {@code slowest}: where each route's slowest since the monitor's last reading is kept. */
    RequestTimers(MeterRegistry registry, Slowest slowest) {
        this.registry = registry;
        this.slowest = slowest;
    }

    /** {@code method}: as {@link Methods#label} gives it, one of a few. */
    void record(String method, Endpoint endpoint, int status, long nanos) {
        String route = endpoint == null ? "unmatched" : endpoint.path;
        var meters = byEndpoint.computeIfAbsent(endpoint == null ? method : endpoint, k -> new RouteMeters(
                slowest.track(Timer.builder(Metrics.HTTP_SECONDS).description(Metrics.HTTP_SECONDS_HELP)
                        .tag("method", method).tag("route", route)
                        .serviceLevelObjectives(Metrics.HTTP_BUCKETS).register(registry)),
                new AtomicReferenceArray<>(STATUSES)));
        meters.latency().record(nanos);
        int slot = status > 0 && status < STATUSES ? status : 0;
        Counter responses = meters.responses().get(slot);
        if (responses == null) { // registering the same id twice returns the same counter, so a race costs nothing
            responses = Counter.builder(Metrics.HTTP_RESPONSES).description(Metrics.HTTP_RESPONSES_HELP)
                    .tag("method", method).tag("route", route).tag("status", String.valueOf(status)).register(registry);
            meters.responses().set(slot, responses);
        }
        responses.increment();
    }
}
