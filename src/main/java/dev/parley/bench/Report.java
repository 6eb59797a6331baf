package dev.parley.bench;

import dev.parley.json.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.HdrHistogram.Histogram;

/**
 * The figures of one run, per operation and target, and the ratios of Parley to the other targets,
 * each computed from numbers measured in this run. Rendered for the terminal, as Markdown for
 * docs/benchmarks.md, and as JSON.
 */
final class Report {
    /** What the run was: everything a reader needs to repeat it. */
    record Context(String date, String command, String dataset, Machine machine, String mix, int concurrency,
                   String duration, String warmup, String load) {
    }

    /**
     * One operation on one target. Latencies in milliseconds; {@code rejected} counts 503 and 429 answers
     * (load shed), and {@code rejectedP99} says how fast they came. {@code cacheHitRate} is the share of
     * the requests of the operation's own cache that hit (0 to 1), null where there is none to count.
     */
    record Row(Operation operation, String target, long count, long errors, String firstError, double p50, double p95,
               double p99, double max, double throughput, long rejected, double rejectedP50, double rejectedP99,
               Double cacheHitRate) {
    }

    /**
     * One target divided by another: above 1 for throughput and below 1 for latency mean the first is
     * faster. parley ÷ raw is the cost of HTTP and JSON; raw ÷ naive is what the SQL design is worth
     * over the same transport (both run in-process over JDBC).
     */
    record Ratios(Operation operation, String target, String against, double throughput, double p50, double p99) {
    }

    /**
     * One ratio over the rounds of a run ({@code parley bench run --rounds}): its throughput and p99 ratios in each
     * round, in order, and the median of each.
     */
    record AcrossRounds(Operation operation, String target, String against, List<Double> throughput, double medianThroughput,
                        List<Double> p99, double medianP99) {
    }

    private static final List<List<String>> COMPARED = List.of(List.of("parley", "raw"), List.of("parley", "naive"),
            List.of("raw", "naive"), List.of("parley", "nocache"), List.of("nocache", "raw"), List.of("parley", "bare"),
            List.of("raw", "bare"), List.of("parley", "single"), List.of("raw", "single"), List.of("single", "bare"));

    private final Context context;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, CacheCounts> caches = new LinkedHashMap<>(); // by target; only targets with a cache
    private final Map<String, Freshness.Counts> freshness = new LinkedHashMap<>(); // by target; only those checked
    private final Map<String, Workload.Background> background = new LinkedHashMap<>(); // by target, when the plan wrote
    private final Map<String, String> cpu = new LinkedHashMap<>(); // by target: CPU per operation, when measured

    Report(Context context, List<Workload.Result> results) {
        this.context = context;
        for (Workload.Result result : results) {
            if (result.caches() != null) {
                caches.put(result.target(), result.caches());
            }
            if (result.freshness() != null) {
                freshness.put(result.target(), result.freshness());
            }
            if (result.background() != null) {
                background.put(result.target(), result.background());
            }
            if (result.cpu() != null) {
                cpu.put(result.target(), result.cpu().perOperation(result.operations(), context.machine().cores()));
            }
            double seconds = result.measured().toNanos() / 1e9;
            for (Operation op : Operation.values()) {
                Histogram h = result.latencies().get(op);
                Histogram refused = result.rejections().get(op);
                long errors = result.errors().getOrDefault(op, 0L);
                if (h == null && refused == null && errors == 0) {
                    continue;
                }
                long count = result.completed().getOrDefault(op, 0L);
                rows.add(new Row(op, result.target(), count, errors, result.firstErrors().get(op),
                        ms(h, 50), ms(h, 95), ms(h, 99), h == null ? 0 : h.getMaxValue() / 1000.0,
                        count / seconds, refused == null ? 0 : refused.getTotalCount(), ms(refused, 50), ms(refused, 99),
                        hitRate(result.caches(), op)));
            }
        }
    }

    List<Row> rows() {
        return rows;
    }

    /** "target/operation" of each operation that completed nothing and failed every time: its figures measure nothing. */
    List<String> failedThroughout() {
        return rows.stream().filter(r -> r.count() == 0 && r.errors() > 0).map(r -> r.target() + "/" + r.operation().label).toList();
    }

    /** The measured period's cache counts of each target that has a cache, by target name. */
    Map<String, CacheCounts> caches() {
        return caches;
    }

    private static Double hitRate(CacheCounts counts, Operation op) {
        if (counts == null || op.cache == null || !counts.byCache().containsKey(op.cache)) {
            return null;
        }
        return counts.byCache().get(op.cache).hitRate();
    }

    /** "history 91.2 % of 40,311, inbox ..." or "no cache metrics": one target's caches in the measured period. */
    private static String cacheLine(CacheCounts counts) {
        if (counts.isEmpty()) {
            return "no cache metrics (" + CacheCounts.METRIC + " not published)";
        }
        StringBuilder line = new StringBuilder();
        counts.byCache().forEach((cache, c) -> line.append(line.isEmpty() ? "" : ", ")
                .append("%s %.1f %% of %,d".formatted(cache, 100 * c.hitRate(), c.requests())));
        return line.toString();
    }

    /** "0 stale of 1,234 history pages checked against acknowledged appends", and the first stale one. */
    private static String freshnessLine(Freshness.Counts counts) {
        return "%,d stale of %,d history pages checked against acknowledged appends%s".formatted(counts.stale(),
                counts.checked(), counts.firstStale() == null ? "" : " (first: " + counts.firstStale() + ")");
    }

    private static String backgroundLine(Workload.Background written) {
        return "%,d appended in the background (warm-up included), %,d failed%s".formatted(written.appended(), written.failed(),
                written.firstFailure() == null ? "" : " (first: " + written.firstFailure() + ")");
    }

    private static String percent(Double rate) {
        return rate == null ? "–" : "%.1f %%".formatted(100 * rate);
    }

    List<Ratios> ratios() {
        List<Ratios> ratios = new ArrayList<>();
        for (List<String> pair : COMPARED) {
            for (Row first : rows.stream().filter(r -> r.target().equals(pair.get(0))).toList()) {
                find(first.operation(), pair.get(1)).ifPresent(o -> ratios.add(new Ratios(first.operation(), first.target(),
                        o.target(), divide(first.throughput(), o.throughput()), divide(first.p50(), o.p50()),
                        divide(first.p99(), o.p99()))));
            }
        }
        return ratios;
    }

    private Optional<Row> find(Operation op, String target) {
        return rows.stream().filter(r -> r.operation() == op && r.target().equals(target)).findFirst();
    }

    String text() {
        StringBuilder out = new StringBuilder();
        out.append("dataset: ").append(context.dataset()).append('\n');
        out.append("machine: ").append(context.machine().oneLine()).append('\n');
        out.append("mix %s, concurrency %d, %s measured after %s warm-up (twice that for the run's first target), %s%n".formatted(context.mix(),
                context.concurrency(), context.duration(), context.warmup(), context.load()));
        out.append("%-32s %-7s %10s %9s %9s %9s %9s %8s %10s%n".formatted("operation", "target", "ops/s", "p50 ms", "p95 ms",
                "p99 ms", "max ms", "errors", "cache hits"));
        for (Row r : rows) {
            out.append("%-32s %-7s %10.0f %9.2f %9.2f %9.2f %9.1f %8d %10s%n".formatted(r.operation().label, r.target(),
                    r.throughput(), r.p50(), r.p95(), r.p99(), r.max(), r.errors(), percent(r.cacheHitRate())));
        }
        caches.forEach((target, counts) -> out.append("%s caches: %s%n".formatted(target, cacheLine(counts))));
        freshness.forEach((target, counts) -> out.append("%s staleness: %s%n".formatted(target, freshnessLine(counts))));
        background.forEach((target, written) -> out.append("%s writes: %s%n".formatted(target, backgroundLine(written))));
        cpu.forEach((target, perOperation) -> out.append("%s cpu per operation: %s%n".formatted(target, perOperation)));
        rows.stream().filter(r -> r.rejected() > 0).forEach(r -> out.append(
                "%s/%s: %d refused (503/429), answered in p50 %.2f ms, p99 %.2f ms%n".formatted(r.target(),
                        r.operation().label, r.rejected(), r.rejectedP50(), r.rejectedP99())));
        for (Ratios r : ratios()) {
            out.append("%-6s / %-5s %-32s throughput %6.2fx   p50 %6.2fx   p99 %6.2fx%n".formatted(r.target(), r.against(),
                    r.operation().label, r.throughput(), r.p50(), r.p99()));
        }
        rows.stream().filter(r -> r.firstError() != null).forEach(r -> out.append("errors in %s/%s, first: %s%n"
                .formatted(r.target(), r.operation().label, r.firstError())));
        return out.toString();
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("### ").append(context.date()).append(" — ").append(context.mix()).append(" mix, concurrency ")
                .append(context.concurrency()).append(", ").append(context.dataset()).append("\n\n");
        md.append("- Command: `").append(context.command()).append("`\n");
        md.append("- Machine: ").append(context.machine().oneLine()).append('\n');
        md.append("- Dataset: ").append(context.dataset()).append('\n');
        md.append("- Run: ").append(context.duration()).append(" measured after ").append(context.warmup())
                .append(" warm-up per target (twice that for the run's first), ").append(context.load()).append("\n\n");
        md.append("| operation | target | ops/s | p50 ms | p95 ms | p99 ms | max ms | errors | cache hits |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            md.append("| %s | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %s |%n".formatted(r.operation().label, r.target(),
                    r.throughput(), r.p50(), r.p95(), r.p99(), r.max(), r.errors(), percent(r.cacheHitRate())));
        }
        if (!caches.isEmpty()) {
            md.append('\n');
            caches.forEach((target, counts) -> md.append("- %s caches (measured period): %s%n".formatted(target, cacheLine(counts))));
        }
        freshness.forEach((target, counts) -> md.append("- %s staleness (measured period): %s%n".formatted(target,
                freshnessLine(counts))));
        background.forEach((target, written) -> md.append("- %s writes: %s%n".formatted(target, backgroundLine(written))));
        cpu.forEach((target, perOperation) -> md.append("- %s CPU per operation (measured period): %s%n".formatted(target,
                perOperation)));
        rows.stream().filter(r -> r.rejected() > 0).forEach(r -> md.append(
                "%n%s/%s: %d refused (503/429), answered in p50 %.2f ms, p99 %.2f ms%n".formatted(r.target(),
                        r.operation().label, r.rejected(), r.rejectedP50(), r.rejectedP99())));
        List<Ratios> ratios = ratios();
        if (!ratios.isEmpty()) {
            md.append("\n| operation | ratio | throughput | p50 | p99 |\n|---|---|---:|---:|---:|\n");
            for (Ratios r : ratios) {
                md.append("| %s | %s ÷ %s | %.2f× | %.2f× | %.2f× |%n".formatted(r.operation().label, r.target(), r.against(),
                        r.throughput(), r.p50(), r.p99()));
            }
        }
        return md.append('\n').toString();
    }

    String json() {
        return Json.write(document());
    }

    private Map<String, Object> document() {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("context", context);
        document.put("results", rows);
        document.put("caches", caches);
        document.put("staleness", freshness);
        document.put("background_writes", background);
        document.put("cpu_per_operation", cpu);
        document.put("ratios", ratios());
        return document;
    }

    /** Each ratio the rounds have in common, with its value in every round and their median. */
    static List<AcrossRounds> acrossRounds(List<Report> rounds) {
        Map<List<Object>, List<Ratios>> byPair = new LinkedHashMap<>();
        for (Report round : rounds) {
            for (Ratios r : round.ratios()) {
                byPair.computeIfAbsent(List.of(r.operation(), r.target(), r.against()), pair -> new ArrayList<>()).add(r);
            }
        }
        List<AcrossRounds> across = new ArrayList<>();
        byPair.forEach((pair, each) -> {
            List<Double> throughput = each.stream().map(Ratios::throughput).toList();
            List<Double> p99 = each.stream().map(Ratios::p99).toList();
            Ratios first = each.getFirst();
            across.add(new AcrossRounds(first.operation(), first.target(), first.against(), throughput, median(throughput), p99,
                    median(p99)));
        });
        return across;
    }

    static String acrossRoundsText(List<Report> rounds) {
        StringBuilder out = new StringBuilder("across %d rounds:%n".formatted(rounds.size()));
        for (AcrossRounds r : acrossRounds(rounds)) {
            out.append("%-6s / %-5s %-32s throughput %s, median %.2fx   p99 median %.2fx%n".formatted(r.target(), r.against(),
                    r.operation().label, times(r.throughput(), "x"), r.medianThroughput(), r.medianP99()));
        }
        return out.toString();
    }

    static String acrossRoundsMarkdown(List<Report> rounds) {
        StringBuilder md = new StringBuilder("| operation | ratio | throughput, round by round | median | p99 median |\n|---|---|---|---:|---:|\n");
        for (AcrossRounds r : acrossRounds(rounds)) {
            md.append("| %s | %s ÷ %s | %s | %.2f× | %.2f× |%n".formatted(r.operation().label, r.target(), r.against(),
                    times(r.throughput(), "×"), r.medianThroughput(), r.medianP99()));
        }
        return md.append('\n').toString();
    }

    /** Every round's report, and the ratios across them. */
    static String json(List<Report> rounds) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("rounds", rounds.stream().map(Report::document).toList());
        document.put("across_rounds", acrossRounds(rounds));
        return Json.write(document);
    }

    /** "2.97x, 3.38x, 2.15x" with {@code sign} "x". */
    private static String times(List<Double> ratios, String sign) {
        return String.join(", ", ratios.stream().map(ratio -> "%.2f%s".formatted(ratio, sign)).toList());
    }

    /** The middle value, or the mean of the middle two. */
    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int middle = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
    }

    private static double ms(Histogram h, double percentile) {
        return h == null ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static double divide(double a, double b) {
        return b == 0 ? 0 : a / b;
    }
}
