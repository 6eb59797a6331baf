package dev.parley.monitor;

import dev.parley.db.Database;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import dev.parley.monitor.Overview.CacheStats;
import dev.parley.monitor.Overview.Pool;
import dev.parley.monitor.Overview.Requests;
import dev.parley.monitor.Overview.RouteStats;
import dev.parley.monitor.Overview.StatementStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads Parley's meters and PostgreSQL's statistics every few seconds and keeps what the dashboard and
 * {@code parley monitor} show: full readings for the last five minutes (rates and percentiles per route
 * come from the difference of two), and one {@link Point} per reading for the last hour.
 */
public final class Timeline {
    private static final Logger LOG = LoggerFactory.getLogger(Timeline.class);
    /** The longest window an overview covers. */
    public static final Duration MAX_WINDOW = Duration.ofMinutes(5);
    static final Duration HISTORY = Duration.ofHours(1);
    private static final int TOP_STATEMENTS = 10;

    private final MeterRegistry registry;
    private final Slowest slowest;
    private final DatabaseStats database;
    private final Clock clock;
    private final Instant started;
    /** What stands for PostgreSQL's figures until they are first read. */
    private final DatabaseReading none;
    private final Deque<Reading> recent = new ArrayDeque<>();
    private final Deque<Point> points = new ArrayDeque<>();

    /**
     * Everything read at one moment; counters and histograms are totals since start. {@code database} is PostgreSQL's last
     * reading then, which may be older (see {@link #sampleEvery}), and null before its first.
     */
    private record Reading(Instant at, Map<String, Histogram> routes, Map<String, Double> errors,
                           Map<String, Histogram> statements, Map<String, double[]> caches, double slow,
                           Pool pool, DatabaseReading database) {
    }

    /** {@code slowest}: the slowest latency of each timer since the last reading, kept for this timeline alone. */
    public Timeline(MeterRegistry registry, Slowest slowest, DatabaseStats database, Clock clock) {
        this.registry = registry;
        this.slowest = slowest;
        this.database = database;
        this.clock = clock;
        this.started = clock.instant();
        this.none = DatabaseReading.none(started);
    }

    /**
     * Reads PostgreSQL's statistics every {@code every} (PARLEY_ADMIN_SAMPLE) on {@code databaseThread}, and the meters as
     * often on {@code metersThread}, from now on: a database that stops answering holds up its own reading, while the
     * meters go on being read. Read one after the other, the request figures froze with the database.
     */
    public void sampleEvery(ScheduledExecutorService databaseThread, ScheduledExecutorService metersThread, Duration every) {
        repeat(databaseThread, every, database::sample);
        repeat(metersThread, every, this::sample);
    }

    /**
     * Runs {@code task} on {@code executor} at once and then {@code every} after each run ended. Not at a fixed rate:
     * runs held up (a database that stopped answering) were then all due at once and ran back to back, several readings
     * within 10 ms, each failing and logging as the first had. A task that throws is logged and run again, where the
     * executor would never run it again.
     */
    static void repeat(ScheduledExecutorService executor, Duration every, Runnable task) {
        executor.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.warn("could not sample the meters for the dashboard: {}", e.getMessage(), e);
            }
        }, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Takes a reading of the meters, with PostgreSQL's last reading as it is ({@link DatabaseStats#sample} takes those);
     * {@link #sampleEvery} calls it every PARLEY_ADMIN_SAMPLE.
     */
    public void sample() {
        Reading now = read(slowest::take);
        synchronized (this) {
            Reading previous = recent.peekLast();
            if (previous != null) {
                points.addLast(point(previous, now));
            }
            recent.addLast(now);
            trim(recent, r -> r.at(), now.at().minus(MAX_WINDOW.plusSeconds(30)));
            trim(points, Point::time, now.at().minus(HISTORY));
        }
    }

    /** The points of the last hour after {@code since}, oldest first. */
    public synchronized List<Point> points(Instant since) {
        return points.stream().filter(p -> p.time().isAfter(since)).toList();
    }

    /** What happened over about {@code window} (as far back as readings go), up to the last reading. */
    public Overview overview(Duration window) {
        Reading first;
        Reading last;
        double growth;
        List<Reading> spanned;
        synchronized (this) {
            last = recent.peekLast();
            if (last == null) { // no window yet, no percentiles: each timer's slowest is left for the first reading
                Reading now = read(timer -> 0);
                return overview(now, null, 0, List.of(now));
            }
            // the earlier reading nearest the window's start: readings come every interval give or take a few ms, so "the
            // newest not after it" was a whole interval early whenever twelve intervals came to a little under a minute,
            // and a 1-minute window read "last 65 s"
            Instant from = last.at().minus(window);
            Reading newest = last;
            first = recent.stream().filter(r -> r != newest)
                    .min(Comparator.comparing(r -> Duration.between(r.at(), from).abs())).orElse(last);
            growth = growthPerHour();
            Reading start = first;
            Reading end = last;
            spanned = recent.stream().filter(r -> r.at().isAfter(start.at()) && !r.at().isAfter(end.at())).toList();
        }
        return overview(last, first == last ? null : first, growth, spanned);
    }

    /**
     * The window from {@code first} to {@code last}; {@code spanned}, the readings after {@code first} up to {@code last},
     * whose latency maxima bound the window's quantiles (see {@link #maxOf}) and whose readings of PostgreSQL its counters
     * are summed over (see {@link #increase}).
     */
    private Overview overview(Reading last, Reading first, double growthPerHour, List<Reading> spanned) {
        double seconds = first == null ? 0 : Duration.between(first.at(), last.at()).toMillis() / 1000.0;
        Histogram all = Histogram.EMPTY;
        double allErrors = 0;
        List<RouteStats> routes = new ArrayList<>();
        for (var route : last.routes().entrySet()) {
            Histogram h = first == null ? Histogram.EMPTY : route.getValue().since(first.routes().getOrDefault(route.getKey(), Histogram.EMPTY))
                    .atMost(maxOf(spanned, r -> r.routes().get(route.getKey())));
            double errors = first == null ? 0 : last.errors().getOrDefault(route.getKey(), 0.0) - first.errors().getOrDefault(route.getKey(), 0.0);
            all = all.plus(h);
            allErrors += errors;
            if (h.count() > 0) {
                routes.add(new RouteStats(route.getKey(), rate(h.count(), seconds), rate(errors, seconds), h.quantileMillis(0.5),
                        h.quantileMillis(0.95), h.quantileMillis(0.99)));
            }
        }
        routes.sort(Comparator.comparingDouble(RouteStats::perSecond).reversed());
        var requests = new Requests(rate(all.count(), seconds), rate(allErrors, seconds), all.quantileMillis(0.5),
                all.quantileMillis(0.95), all.quantileMillis(0.99));
        return new Overview(last.at(), seconds, Duration.between(started, last.at()).toMillis() / 1000.0, requests, routes,
                statements(last, first, seconds, spanned), first == null ? 0 : (long) (last.slow() - first.slow()), pool(last, first),
                caches(last, first, seconds),
                database(database.latest().orElse(none), databaseReadings(first, spanned, last), seconds, growthPerHour,
                        clock.instant(), database.failing()));
    }

    /**
     * PostgreSQL's readings of the window, oldest first: {@code last}'s alone without a {@code first}; those taken, for the
     * zeros that stand before the first are no start for a rate; {@link #none} when none was.
     */
    private List<DatabaseReading> databaseReadings(Reading first, List<Reading> spanned, Reading last) {
        List<Reading> window = new ArrayList<>();
        if (first != null) {
            window.add(first);
            window.addAll(spanned);
        } else {
            window.add(last);
        }
        List<DatabaseReading> taken = window.stream().map(Reading::database).filter(Objects::nonNull).toList();
        return taken.isEmpty() ? List.of(none) : taken;
    }

    /**
     * The slowest latency one timer recorded in a window: each of the readings after its start holds the slowest since the
     * reading before ({@link Slowest}). A timer's own maximum decays over two minutes, so a 5 s request had raised the
     * percentiles of windows that came after it.
     */
    private static double maxOf(List<Reading> spanned, Function<Reading, Histogram> timer) {
        return spanned.stream().map(timer).filter(Objects::nonNull).mapToDouble(Histogram::maxSeconds).max().orElse(0);
    }

    private static List<StatementStats> statements(Reading last, Reading first, double seconds, List<Reading> spanned) {
        if (first == null) {
            return List.of();
        }
        List<StatementStats> statements = new ArrayList<>();
        for (var statement : last.statements().entrySet()) {
            Histogram h = statement.getValue().since(first.statements().getOrDefault(statement.getKey(), Histogram.EMPTY))
                    .atMost(maxOf(spanned, r -> r.statements().get(statement.getKey())));
            if (h.count() > 0) {
                statements.add(new StatementStats(statement.getKey(), rate(h.count(), seconds), h.meanMillis(),
                        h.quantileMillis(0.99), h.sumSeconds() * 1000));
            }
        }
        statements.sort(Comparator.comparingDouble(StatementStats::totalMs).reversed());
        return List.copyOf(statements.subList(0, Math.min(TOP_STATEMENTS, statements.size())));
    }

    private static List<CacheStats> caches(Reading last, Reading first, double seconds) {
        List<CacheStats> caches = new ArrayList<>();
        for (var cache : last.caches().entrySet()) {
            double[] now = cache.getValue();
            double[] then = first == null ? new double[2] : first.caches().getOrDefault(cache.getKey(), new double[2]);
            double hits = now[0] - then[0];
            double reads = hits + now[1] - then[1];
            caches.add(new CacheStats(cache.getKey(), reads == 0 ? 0 : hits / reads, rate(reads, seconds)));
        }
        caches.sort(Comparator.comparing(CacheStats::cache));
        return caches;
    }

    /**
     * PostgreSQL's figures: {@code last}, its last reading, as it is {@code now}, when the overview is asked for (which
     * its age runs to); its rates from the window's {@code readings}.
     */
    private static Overview.Database database(DatabaseReading last, List<DatabaseReading> readings, double seconds,
                                              double growthPerHour, Instant now, boolean stale) {
        return new Overview.Database(last.connections(), last.cacheHitRatio(), rate(increase(readings, DatabaseReading::commits), seconds),
                rate(increase(readings, DatabaseReading::rollbacks), seconds), last.deadlocks(),
                rate(increase(readings, DatabaseReading::tempBytes), seconds), rate(increase(readings, DatabaseReading::walBytes), seconds),
                last.oldestTransactionSeconds(), last.lockWaits(), last.databaseBytes(), growthPerHour,
                last.tables().stream().map(t -> new Overview.Table(t.schema(), t.table(), t.bytes(), t.deadRatio())).toList(),
                last.partitions(), last.replicas(), last.statements(), Math.max(0, Duration.between(last.at(), now).toMillis() / 1000.0),
                stale);
    }

    /**
     * How much one of PostgreSQL's counters rose over {@code readings}, oldest first. Its statistics start again from 0
     * when the server restarts after a crash (or at pg_stat_reset()), so a counter lower than at the reading before rose
     * from 0 since: its value is the increase, as Prometheus' rate() takes it. The difference read -43.7 transactions/s.
     */
    private static double increase(List<DatabaseReading> readings, ToLongFunction<DatabaseReading> counter) {
        double increase = 0;
        for (int i = 1; i < readings.size(); i++) {
            long before = counter.applyAsLong(readings.get(i - 1));
            long now = counter.applyAsLong(readings.get(i));
            increase += now >= before ? now - before : now;
        }
        return increase;
    }

    /** How fast the database grew over the hour of points kept, per hour; 0 until a minute of its sizes has passed. */
    private double growthPerHour() {
        List<Point> sized = points.stream().filter(p -> p.databaseBytes() != null).toList();
        Point first = sized.isEmpty() ? null : sized.get(0);
        Point last = sized.isEmpty() ? null : sized.get(sized.size() - 1);
        if (first == null || Duration.between(first.time(), last.time()).compareTo(Duration.ofMinutes(1)) < 0) {
            return 0;
        }
        double hours = Duration.between(first.time(), last.time()).toMillis() / 3_600_000.0;
        return (last.databaseBytes() - first.databaseBytes()) / hours;
    }

    private Point point(Reading previous, Reading now) {
        Overview o = overview(now, previous, 0, List.of(now));
        double hits = 0;
        double reads = 0;
        for (CacheStats cache : o.caches()) {
            hits += cache.hitRatio() * cache.perSecond();
            reads += cache.perSecond();
        }
        double seconds = o.windowSeconds();
        return new Point(now.at(), o.requests().perSecond(), o.requests().errorsPerSecond(), o.requests().p50Ms(),
                o.requests().p95Ms(), o.requests().p99Ms(), reads == 0 ? null : hits / reads, now.pool().active(),
                now.pool().waiting(), rate(now.slow() - previous.slow(), seconds),
                now.database() == null ? null : now.database().databaseBytes());
    }

    /** {@code slowestSince}: each timer's slowest latency since the reading before, in seconds. */
    private Reading read(ToDoubleFunction<Timer> slowestSince) {
        Map<String, Histogram> routes = new HashMap<>();
        for (Timer timer : registry.find(Metrics.HTTP_SECONDS).timers()) {
            routes.put(timer.getId().getTag("method") + " " + timer.getId().getTag("route"),
                    Histogram.of(timer, slowestSince.applyAsDouble(timer)));
        }
        Map<String, Double> errors = new HashMap<>();
        for (Counter counter : registry.find(Metrics.HTTP_RESPONSES).counters()) {
            if (counter.getId().getTag("status").startsWith("5")) {
                errors.merge(counter.getId().getTag("method") + " " + counter.getId().getTag("route"), counter.count(), Double::sum);
            }
        }
        Map<String, Histogram> statements = new HashMap<>();
        for (Timer timer : registry.find(Metrics.QUERY_SECONDS).timers()) {
            statements.put(timer.getId().getTag("query"), Histogram.of(timer, slowestSince.applyAsDouble(timer)));
        }
        Map<String, double[]> caches = new HashMap<>();
        for (Counter counter : registry.find(Metrics.CACHE_REQUESTS).counters()) {
            double[] hitsAndMisses = caches.computeIfAbsent(counter.getId().getTag("cache"), family -> new double[2]);
            hitsAndMisses["hit".equals(counter.getId().getTag("result")) ? 0 : 1] += counter.count();
        }
        Counter slow = registry.find(Metrics.SLOW_QUERIES).counter();
        return new Reading(clock.instant(), routes, errors, statements, caches, slow == null ? 0 : slow.count(), pool(),
                database.latest().orElse(null));
    }

    /** The pool as {@code last} found it, with the requests it refused in the window: the reading's are a running total. */
    private static Pool pool(Reading last, Reading first) {
        Pool now = last.pool();
        long refused = first == null ? 0 : now.rejected() - first.pool().rejected();
        return new Pool(now.size(), now.active(), now.idle(), now.waiting(), refused);
    }

    private Pool pool() {
        Counter rejected = registry.find(Metrics.POOL_REJECTED).tag(Metrics.POOL_REJECTED_RESOURCE, "connections").counter();
        // Requests wait in the pool's turns, not in HikariCP, whose pending count stays 0.
        int waiting = (int) registry.find(Metrics.POOL_WAITING).gauges().stream().mapToDouble(Gauge::value).sum();
        return new Pool(hikari("hikaricp.connections.max"), hikari("hikaricp.connections.active"),
                hikari("hikaricp.connections.idle"), waiting, rejected == null ? 0 : (long) rejected.count());
    }

    /** A gauge of the request pool's: the background's and each replica's pool have HikariCP's meters too. */
    private int hikari(String name) {
        Gauge gauge = registry.find(name).tag("pool", Database.REQUEST_POOL).gauge();
        return gauge == null ? 0 : (int) gauge.value();
    }

    private static double rate(double amount, double seconds) {
        return seconds <= 0 ? 0 : amount / seconds;
    }

    private static <T> void trim(Deque<T> deque, java.util.function.Function<T, Instant> at, Instant before) {
        while (!deque.isEmpty() && at.apply(deque.peekFirst()).isBefore(before)) {
            deque.pollFirst();
        }
    }
}
