package dev.parley.monitor;

import dev.parley.monitor.Overview.CacheStats;
import dev.parley.monitor.Overview.RouteStats;
import dev.parley.monitor.Overview.StatementStats;
import dev.parley.monitor.Overview.Table;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * An {@link Overview} as a screen of plain text for {@code parley monitor}: one line per figure group,
 * tables for routes, statements and storage, with colour (ANSI) marking what crosses the seeds' thresholds.
 */
public final class OverviewText {
    /** The thresholds the colours mark; the same as docs/ops/alerts.yml's. */
    static final double POOL_WARN = 0.6;
    static final double POOL_ALERT = 0.8;
    static final double P99_WARN_MS = 100;
    static final double P99_ALERT_MS = 1000;
    static final double DB_HIT_ALERT = 0.95;
    static final double CACHE_HIT_WARN = 0.8;
    static final double DEAD_ALERT = 0.2;
    static final double LAG_ALERT_SECONDS = 10;

    private static final int ROUTES = 10;
    private static final int TABLES = 8;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private final boolean colour;
    private final StringBuilder out = new StringBuilder();

    private OverviewText(boolean colour) {
        this.colour = colour;
    }

    /** The screen for {@code overview} of the Parley at {@code source}. */
    public static String render(Overview overview, String source, boolean colour) {
        var text = new OverviewText(colour);
        text.header(overview, source);
        text.requests(overview);
        text.pool(overview.pool());
        text.caches(overview.caches());
        text.database(overview.database());
        text.routes(overview.routes());
        text.statements(overview.statements(), overview.database().topStatements());
        text.tables(overview.database().tables());
        return text.out.toString();
    }

    /** The screen for a refresh at {@code time} that got no overview from {@code source}, for {@code why}. */
    public static String unanswered(String source, Instant time, String why, Duration retry, boolean colour) {
        var text = new OverviewText(colour);
        text.line(text.bold("Parley at " + source) + " · " + TIME.format(time));
        text.line(text.mark("no overview: " + why, 2));
        text.line("trying again every " + duration(retry.toSeconds()) + " (Ctrl-C to stop)");
        return text.out.toString();
    }

    private void header(Overview o, String source) {
        line(bold("Parley at " + source) + " · " + TIME.format(o.time()) + " · up " + duration(o.uptimeSeconds())
                + " · last " + Math.round(o.windowSeconds()) + " s");
        if (o.windowSeconds() == 0) {
            line(yellow("(rates need two readings: the server has just started or samples rarely)"));
        }
    }

    private void requests(Overview o) {
        var r = o.requests();
        line(label("Requests") + "%s/s   5xx %s/s   p50 %s   p95 %s   p99 %s   slow statements %s".formatted(
                number(r.perSecond(), 1), mark(number(r.errorsPerSecond(), 2), r.errorsPerSecond() > 0 ? 2 : 0),
                ms(r.p50Ms()), ms(r.p95Ms()), latency(r.p99Ms()), mark(String.valueOf(o.slowQueries()), o.slowQueries() > 0 ? 1 : 0)));
    }

    private void pool(Overview.Pool pool) {
        double used = pool.size() == 0 ? 0 : (double) pool.active() / pool.size();
        line(label("Pool") + "%s in use (%s)   waiting %s   refused %d".formatted(
                mark(pool.active() + "/" + pool.size(), level(used, POOL_WARN, POOL_ALERT)), percent(used),
                mark(String.valueOf(pool.waiting()), pool.waiting() > 0 ? 1 : 0), pool.rejected()));
    }

    private void caches(List<CacheStats> caches) {
        String listed = caches.stream().filter(c -> c.perSecond() > 0)
                .map(c -> c.cache() + " " + mark(percent(c.hitRatio()), c.hitRatio() < CACHE_HIT_WARN ? 1 : 0)
                        + " (" + number(c.perSecond(), c.perSecond() < 10 ? 1 : 0) + "/s)") // not "(0/s)" for 0.3/s
                .collect(Collectors.joining("   "));
        line(label("Caches") + (listed.isEmpty() ? "no reads in the window" : listed));
    }

    private void database(Overview.Database db) {
        if (db.stale()) {
            line(label("Database") + mark("no reading for %s: PostgreSQL's statistics cannot be read; below, the last ones"
                    .formatted(number(db.readingAgeSeconds(), 0) + " s"), 2));
        }
        String connections = db.connections().entrySet().stream().filter(e -> e.getValue() > 0)
                .sorted(java.util.Map.Entry.comparingByKey())
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
        line(label(db.stale() ? "" : "Database") + "connections %s   cache hit %s   %s tx/s   %s rollbacks/s   WAL %s/s".formatted(
                connections, mark(percent(db.cacheHitRatio()), db.cacheHitRatio() < DB_HIT_ALERT ? 2 : 0),
                number(db.transactionsPerSecond(), 0), number(db.rollbacksPerSecond(), 1), bytes(db.walBytesPerSecond())));
        double lag = db.replicas().stream().mapToDouble(DatabaseReading.ReplicaLag::lagSeconds).max().orElse(0);
        String replicas = db.replicas().isEmpty() ? "no standbys" : db.replicas().stream()
                .map(r -> r.name() + " " + number(r.lagSeconds(), 1) + " s").collect(Collectors.joining(", "));
        line(label("") + "size %s (%s/h)   temp %s/s   oldest transaction %s   lock waits %s   deadlocks %d   replication %s".formatted(
                bytes(db.sizeBytes()), signedBytes(db.growthBytesPerHour()), bytes(db.tempBytesPerSecond()),
                mark(number(db.oldestTransactionSeconds(), 1) + " s", db.oldestTransactionSeconds() > 60 ? 1 : 0),
                mark(String.valueOf(db.lockWaits()), db.lockWaits() > 0 ? 1 : 0), db.deadlocks(),
                mark(replicas, lag > LAG_ALERT_SECONDS ? 2 : 0)));
    }

    private void routes(List<RouteStats> routes) {
        line("");
        line(bold("%-58s %9s %8s %8s %8s %7s".formatted("ROUTE", "REQ/S", "P50", "P95", "P99", "5XX/S")));
        if (routes.isEmpty()) {
            line("(no requests in the window)");
        }
        for (RouteStats r : routes.subList(0, Math.min(ROUTES, routes.size()))) {
            line("%-58s %9s %8s %8s %s %7s".formatted(shortenRoute(r.route(), 58), number(r.perSecond(), 1), ms(r.p50Ms()),
                    ms(r.p95Ms()), pad(latency(r.p99Ms()), ms(r.p99Ms()), 8), number(r.errorsPerSecond(), 2)));
        }
    }

    private void statements(List<StatementStats> timed, List<DatabaseReading.StatementTotals> counted) {
        line("");
        line(bold("%-40s %9s %9s %9s %12s".formatted("STATEMENT (COSTLIEST IN THE WINDOW)", "CALLS/S", "MEAN MS", "P99 MS", "PG MEAN MS")));
        if (timed.isEmpty()) {
            line("(no statements in the window)");
        }
        for (StatementStats s : timed) {
            String pgMean = counted.stream().filter(c -> c.query().equals(s.query())).findFirst()
                    .map(c -> number(c.meanMillis(), 2)).orElse("-");
            line("%-40s %9s %9s %s %12s".formatted(shorten(s.query(), 40), number(s.perSecond(), 1), number(s.meanMs(), 2),
                    pad(mark(number(s.p99Ms(), 1), level(s.p99Ms(), P99_WARN_MS, P99_ALERT_MS)), number(s.p99Ms(), 1), 9), pgMean));
        }
    }

    private void tables(List<Table> tables) {
        line("");
        line(bold("%-40s %12s %8s".formatted("TABLE", "SIZE", "DEAD")));
        tables.stream().filter(t -> t.bytes() > 0).sorted(Comparator.comparingLong(Table::bytes).reversed()).limit(TABLES)
                .forEach(t -> line("%-40s %12s %s".formatted(shorten(t.schema().equals("public") ? t.table()
                        : t.schema() + "." + t.table(), 40), bytes(t.bytes()),
                        pad(mark(percent(t.deadRatio()), t.deadRatio() > DEAD_ALERT ? 2 : 0), percent(t.deadRatio()), 8))));
    }

    private void line(String text) {
        out.append(text).append('\n');
    }

    private String latency(double millis) {
        return mark(ms(millis), level(millis, P99_WARN_MS, P99_ALERT_MS));
    }

    private static int level(double value, double warn, double alert) {
        return value > alert ? 2 : value > warn ? 1 : 0;
    }

    /** {@code text} in yellow (1) or red (2); as it is at 0 or without colour. */
    private String mark(String text, int level) {
        if (!colour || level == 0) {
            return text;
        }
        return (level == 1 ? "\u001b[33m" : "\u001b[31m") + text + "\u001b[0m";
    }

    private String yellow(String text) {
        return mark(text, 1);
    }

    private String bold(String text) {
        return colour ? "\u001b[1m" + text + "\u001b[0m" : text;
    }

    private String label(String name) {
        return bold("%-10s".formatted(name)) + " ";
    }

    /** Right-aligns a coloured {@code shown} by the width of its plain {@code text}: escape codes take no columns. */
    private static String pad(String shown, String text, int width) {
        return " ".repeat(Math.max(0, width - text.length())) + shown;
    }

    /** A route too long for its column keeps its method: PATCH and DELETE of one path must not look the same. */
    static String shortenRoute(String route, int width) {
        int space = route.indexOf(' ');
        if (route.length() <= width || space < 0) {
            return shorten(route, width);
        }
        String method = route.substring(0, space + 1);
        return method + shorten(route.substring(space + 1), width - method.length());
    }

    private static String shorten(String text, int width) {
        return text.length() <= width ? text : "…" + text.substring(text.length() - width + 1);
    }

    static String number(double value, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", value);
    }

    private static String ms(double millis) {
        return number(millis, millis < 10 ? 2 : 1) + " ms";
    }

    private static String percent(double ratio) {
        return number(ratio * 100, 1) + "%";
    }

    static String bytes(double value) {
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        int unit = 0;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return number(value, unit == 0 ? 0 : 1) + " " + units[unit];
    }

    private static String signedBytes(double value) {
        return (value >= 0 ? "+" : "-") + bytes(Math.abs(value));
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s < 120 ? s + " s" : s < 7200 ? s / 60 + " min" : s / 3600 + " h " + (s % 3600) / 60 + " min";
    }
}
