package dev.parley.bench;

import dev.parley.DatabaseOptions;
import dev.parley.Parley;
import dev.parley.Storage;
import dev.parley.apps.ApiKeys;
import dev.parley.chat.Limits;
import dev.parley.config.Ages;
import dev.parley.config.Durations;
import dev.parley.config.Settings;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Migrations;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.Period;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code parley bench}: the project's measuring instrument. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Generate a realistic chat dataset and measure Parley against it.",
                "  load  writes a dataset into the database with COPY",
                "  run   replays a workload over HTTP and, with --compare, the same work as raw SQL and the naive way"},
        subcommands = {BenchCommand.Load.class, BenchCommand.Run.class, BenchCommand.ImportRate.class})
public final class BenchCommand {
    @Mixin
    DatabaseOptions where;

    /** How long the bench's work waits for a connection, and an append for a writer: long, so load shows as latency, not 503s. */
    static final Duration POOL_TIMEOUT = Duration.ofSeconds(30);

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = "Generate a chat dataset into an empty database (COPY, deterministic for a seed and day).")
    static final class Load implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        BenchCommand parent;

        @Option(names = "--messages", required = true, description = "How many messages: 20000, 1M, 10M, 100M.")
        String messages;

        @Option(names = "--conversations", description = "Default: messages / 40.")
        String conversations;

        @Option(names = "--users", description = "Default: conversations / 5.")
        String users;

        @Option(names = "--characters", description = "Default: users / 100 (at least 20).")
        String characters;

        @Option(names = "--memories", description = "Memories with embeddings, spread over conversations by size; default: messages / 50.")
        String memories;

        @Option(names = "--dims", defaultValue = "768", description = "Embedding dimensions (default 768).")
        int dims;

        @Option(names = "--months", defaultValue = "12", description = "Months of history, one partition each (default 12).")
        int months;

        @Option(names = "--archive-older-than", description = {"Load the months that ended before this age (6mo, 90d, 1y)",
                "straight into the archive, as 'parley archive --older-than' leaves them."})
        String archiveOlderThan;

        @Option(names = "--archive-words", defaultValue = "indexed", description = {"indexed (default) or unindexed: leave the",
                "archived months' words index unbuilt (history, context and inbox never read it; it is most of the load's",
                "time at 100M messages), so searches with include_archived read the archived months through."})
        String archiveWords;

        @Option(names = "--seed", defaultValue = "42", description = "Same seed, same day: same dataset (default 42).")
        long seed;

        @Option(names = "--ends", paramLabel = "DATE", description = {"The day the history runs up to, YYYY-MM-DD, today or",
                "before (default today): the last messages are from the hour before it. Search figures depend on it: on",
                "the first days of a month, the month of users' last messages holds little. No message is dated before",
                "2000-01-01, where Parley's ids begin: at the default 12 months, the earliest is 2000-12-26."})
        String ends;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            DatasetSpec dataset;
            Period archiveAge;
            try {
                archiveAge = archiveOlderThan == null ? null : Ages.parse(archiveOlderThan);
                if (!List.of("indexed", "unindexed").contains(archiveWords)) {
                    throw new IllegalArgumentException("--archive-words takes indexed or unindexed, not " + archiveWords);
                }
                dataset = DatasetSpec.of(DatasetSpec.count("--messages", messages), optionalCount("--conversations", conversations),
                        optionalCount("--users", users), optionalCount("--characters", characters),
                        memories == null ? null : DatasetSpec.count("--memories", memories), dims, months, seed,
                        endOfHistory(ends, Instant.now()));
            } catch (IllegalArgumentException e) { // a usage error, told before connecting
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            return withDatabase(parent.where.settings(), true, 4, (db, target) -> {
                new Migrations(db.dataSource()).migrate();
                out.printf("loading %s messages in %s conversations of %s users with %s characters over %d months, "
                                + "%s memories of %d dimensions (seed %d)%n",
                        DatasetSpec.human(dataset.messages()), DatasetSpec.human(dataset.conversations()),
                        DatasetSpec.human(dataset.users()), DatasetSpec.human(dataset.characters()), dataset.months(),
                        DatasetSpec.human(dataset.memories()), dataset.dims(), dataset.seed());
                out.flush();
                if (archiveAge != null) {
                    out.printf("months that ended before %s ago go straight into the archive%n", archiveOlderThan);
                }
                var loaded = new DatasetLoader(db, err).load(dataset, archiveAge, archiveWords.equals("indexed"));
                out.printf("loaded in %s: %.0f messages/s through COPY (app '%s', id %d)%n",
                        Progress.formatSeconds(loaded.took().toSeconds()), loaded.messagesPerSecond(), DatasetLoader.APP, loaded.appId());
                return 0;
            });
        }

        private static Integer optionalCount(String option, String text) {
            if (text == null) {
                return null;
            }
            long count = DatasetSpec.count(option, text);
            if (count > Integer.MAX_VALUE) { // Math.toIntExact would say only "integer overflow", naming no option
                throw new IllegalArgumentException(option + " must be at most " + Integer.MAX_VALUE + ", got " + text);
            }
            return (int) count;
        }

        /**
         * The day given by --ends, or {@code now}'s. Not a later one: a message dated ahead of the clock would
         * have an id above every one Parley draws for new messages until that time came.
         */
        static Instant endOfHistory(String ends, Instant now) {
            if (ends == null) {
                return now;
            }
            LocalDate day;
            try {
                day = LocalDate.parse(ends);
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("--ends takes a day as YYYY-MM-DD, not " + ends);
            }
            Instant start = day.atStartOfDay(ZoneOffset.UTC).toInstant();
            if (start.isAfter(now)) {
                throw new IllegalArgumentException("--ends " + ends + " is after today: a dataset's history ends today or before");
            }
            return start;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Import against raw COPY into the same tables, in one run: messages/s each, and the ratio.")
    static final class ImportRate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        BenchCommand parent;

        @Option(names = "--messages", defaultValue = "200k", description = "How many messages each way (default 200k).")
        String messages;

        @Option(names = "--conversations", defaultValue = "2000", description = "Over how many conversations (default 2000).")
        int conversations;

        @Option(names = "--bulk", description = "Both ways through the words indexes' pending lists, as parley import --bulk.")
        boolean bulk;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Settings settings = parent.where.settings();
            long total;
            try {
                total = DatasetSpec.count("--messages", messages);
                if (conversations < 1) { // 0 failed as "/ by zero" and -1 as "parley: -1", after the database started
                    throw new IllegalArgumentException("--conversations takes 1 or more, not " + conversations);
                }
            } catch (IllegalArgumentException e) { // a usage error, told before connecting
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            return withDatabase(settings, true, 4, (db, target) -> {
                new Migrations(db.dataSource()).migrate();
                var result = new ImportBench(db, out, Clock.systemUTC()).run(total, conversations,
                        new Limits(settings.maxContentBytes(), settings.maxMetadataBytes()), bulk);
                out.printf("import%s: %.0f messages/s, raw COPY: %.0f rows/s, %.2fx (%d messages, %d conversations)%n",
                        bulk ? " --bulk" : "", result.importPerSecond(), result.copyPerSecond(), result.ratio(), result.messages(),
                        conversations);
                return 0;
            });
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Replay a workload against the loaded dataset and print p50/p95/p99/max and throughput per operation.")
    static final class Run implements Callable<Integer> {
        /** The highest --rate: a worker parks until each turn, and parking is not kept to finer than some microseconds. */
        static final double MAX_RATE = 1_000_000;

        /** The longest --duration or --warmup: a week, far within the nanosecond counts a run keeps. */
        static final Duration LONGEST = Duration.ofDays(7);

        @Spec
        CommandSpec spec;

        @ParentCommand
        BenchCommand parent;

        @Option(names = "--url", description = "A running Parley on the same database; default: start one in this process.")
        URI url;

        @Option(names = "--admin-url", description = "The admin port of the Parley at --url, for its cache counters "
                + "(default: --url's host on port 8081; the admin key, if any, from PARLEY_ADMIN_KEY).")
        URI adminUrl;

        @Option(names = "--mix", defaultValue = "chat", description = "Workload: chat (default), read, write, or one operation: inbox, history, context, append, append-batch (100 messages a request), mark-read, browse, search, recall, search-memories, window-count, filtered-history.")
        String mix;

        @Option(names = "--concurrency", defaultValue = "32", description = "Concurrent clients (default 32).")
        int concurrency;

        @Option(names = "--duration", defaultValue = "60s", description = "Measured time per target (default 60s).")
        String duration;

        @Option(names = "--warmup", defaultValue = "5s", description = "Unmeasured time before each target's run, twice that for the first (default 5s).")
        String warmup;

        @Option(names = "--rate", defaultValue = "0", description = {"Operations per second to issue on a fixed schedule, at most "
                + "1000000 (a worker waits for each turn", "by parking, which cannot keep a finer schedule); 0 = as fast as possible."})
        double rate;

        @Option(names = "--compare", split = ",", description = {"Also run the work as 'raw' SQL without HTTP, the 'naive' way,",
                "over HTTP with Parley's cache off ('nocache': a second Parley in this process with",
                "PARLEY_CACHE_SIZE=0; not with --url), for --mix append, as 'bare' single-row INSERTs",
                "into an unpartitioned table with one index or as Parley's SQL with a transaction per request",
                "('single': no HTTP, no group commit), and/or over HTTP with a read 'replica' (a streaming",
                "standby of the dataset made here; not with --url), then read-your-writes latency through it.",
                "Ratios between the targets come from this one run."})
        List<String> compare = new ArrayList<>();

        @Option(names = "--cache", defaultValue = "on", description = {"on (default) or off: the Parley this run starts",
                "runs with its read cache (off: PARLEY_CACHE_SIZE=0); not with --url, whose server has its own setting."})
        String cache;

        @Option(names = "--check-writes", defaultValue = "0", description = {"Appends per second made in the background",
                "through each target beside the mix (default 0), so that the staleness checker, which holds every",
                "latest history page to the appends acknowledged before it was asked for, has writes to check."})
        double checkWrites;

        @Option(names = "--popularity", defaultValue = "size", description = {"Which conversations the workload visits:",
                "size (default): in proportion to their messages; zipf or zipf:S: by Zipf's law (exponent S, default 1)",
                "over the conversations by last activity, so a small hot set takes most of the traffic."})
        String popularity;

        @Option(names = "--active-within", description = {"Visit only the conversations with a message in this last age",
                "(6mo: those active in the hot months of a dataset loaded with --archive-older-than 6mo); default: all."})
        String activeWithin;

        @Option(names = "--embeddings", defaultValue = "numbers", description = "How HTTP requests carry embeddings: numbers (a JSON array, default) or base64 (of float32).")
        String embeddings;

        @Option(names = "--gzip", description = "The HTTP client asks for gzip (Accept-Encoding), as most client libraries do; a body is unzipped only where "
                + "the bench reads it (a page the staleness checker holds to an append, an error).")
        boolean gzip;

        @Option(names = "--pool-size", defaultValue = "10", description = "Connections for Parley and for each comparison (default 10).")
        int poolSize;

        @Option(names = "--json", description = "Write the report as JSON to this file.")
        Path json;

        @Option(names = "--markdown", description = "Append the report as Markdown to this file, e.g. docs/benchmarks.md.")
        Path markdown;

        @Option(names = "--seed", defaultValue = "7", description = "Seed of the workload's choices (default 7).")
        long seed;

        @Option(names = "--rounds", defaultValue = "1", description = {"Measure the targets this many times in turn",
                "(parley then each --compare target, then the same in reverse order, ...; default 1) and report each ratio",
                "in every round with its median: a VM's speed drifts between runs, and with it a ratio of one round."})
        int rounds;

        @Override
        public Integer call() throws Exception {
            Population.Popularity popular;
            Instant activeSince;
            HttpTarget.Client client;
            Duration measured;
            Duration warmupTime;
            try { // bad choices are usage errors, told before any work
                Mix.named(mix);
                measured = positive("--duration", duration);
                warmupTime = atLeastZero("--warmup", warmup);
                if (concurrency < 1) {
                    throw new IllegalArgumentException("--concurrency takes 1 or more clients, not " + concurrency);
                }
                popular = Population.Popularity.parse(popularity);
                activeSince = activeWithin == null ? null
                        : Instant.now().atZone(ZoneOffset.UTC).minus(age("--active-within", activeWithin)).toInstant();
                client = new HttpTarget.Client(base64Embeddings(), gzip);
                checkChoices();
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            Settings settings = parent.where.settings();
            return withDatabase(settings, false, poolSize, (db, target) -> {
                long appId = db.read(handle -> handle.first(new Query("bench.app", "SELECT app_id FROM apps WHERE name = ?"),
                        row -> row.getLong(1), DatasetLoader.APP)).orElseThrow(() ->
                        new IllegalStateException("no bench dataset here: run 'parley bench load --messages 1M' first"));
                Population population = Population.load(db, appId, popular, activeSince);
                var plan = new Workload.Plan(mix, concurrency, warmupTime, measured, rate, seed,
                        checkWrites);
                List<Report> reports = new ArrayList<>();
                for (int round = 1; round <= rounds; round++) {
                    if (rounds > 1) {
                        out.println("round " + round + " of " + rounds + ":");
                    }
                    // The first target also warms the JIT compiler and PostgreSQL's buffers for those after it:
                    // measured after a warm-up of the same length, it came out up to 40 % slower than when run alone.
                    Workload.Plan first = round == 1 ? plan.withWarmup(plan.warmup().multipliedBy(2)) : plan;
                    var report = new Report(context(db, population, plan), measureRound(db, target, settings, appId, population,
                            plan, first, round % 2 == 0, client, out));
                    out.print(report.text());
                    reports.add(report);
                }
                if (rounds > 1) {
                    out.print(Report.acrossRoundsText(reports));
                }
                write(reports);
                return failedThroughout(reports);
            });
        }

        /** 0, or 1 with a line naming each operation that only failed: a report of errors alone is no measurement. */
        private int failedThroughout(List<Report> reports) {
            List<String> failed = reports.stream().flatMap(report -> report.failedThroughout().stream()).distinct().toList();
            if (failed.isEmpty()) {
                return 0;
            }
            spec.commandLine().getErr().println("parley: " + String.join(", ", failed) + " completed no operation, every one "
                    + "failed (the first error of each is above): fix that and run again");
            return 1;
        }

        /**
         * Each target once: Parley first (with the plan {@code first}, the others with {@code plan}), or, {@code reversed},
         * last and the others in reverse order, so that over rounds in turn a drift of the machine's speed weighs on
         * every target alike. The results come back in the first order either way.
         */
        private List<Workload.Result> measureRound(Database db, ConnectionTarget target, Settings settings, long appId,
                                                  Population population, Workload.Plan plan, Workload.Plan first,
                                                  boolean reversed, HttpTarget.Client client, PrintWriter out) throws Exception {
            CpuUse.Meter cpu = CpuUse.Meter.of(db);
            List<Callable<Workload.Result>> targets = new ArrayList<>();
            targets.add(() -> measureHttp("parley", cache.equals("off") ? Map.of("PARLEY_CACHE_SIZE", "0") : Map.of(), db,
                    target, appId, population, first, client, out));
            if (compare.contains("nocache")) {
                targets.add(() -> measureHttp("nocache", Map.of("PARLEY_CACHE_SIZE", "0"), db, target, appId, population, plan,
                        client, out));
            }
            if (compare.contains("replica")) {
                targets.add(() -> measureWithReplica(db, target, appId, population, plan, client, out));
            }
            for (String other : compare.stream().filter(c -> !c.equals("nocache") && !c.equals("replica")).toList()) {
                targets.add(() -> {
                    try (Target t = switch (other) {
                        case "raw" -> new ServiceTarget(db, appId, settings.appendWriters(), population.dims());
                        case "bare" -> new BareTarget(db);
                        case "single" -> new SingleTarget(db, appId);
                        default -> new NaiveTarget(db, appId, population.dims());
                    }) {
                        out.println("measuring " + t.name() + " ...");
                        out.flush();
                        return Workload.run(t, population, plan, cpu);
                    }
                });
            }
            Workload.Result[] results = new Workload.Result[targets.size()];
            for (int i = 0; i < targets.size(); i++) {
                int next = reversed ? targets.size() - 1 - i : i;
                results[next] = targets.get(next).call();
            }
            return List.of(results);
        }

        /** The choices among options, and between them. */
        private void checkChoices() {
            url = httpAddress("--url", url);
            adminUrl = httpAddress("--admin-url", adminUrl);
            checkWritable("--json", json);
            checkWritable("--markdown", markdown);
            for (String other : compare) {
                if (!List.of("raw", "naive", "nocache", "bare", "single", "replica").contains(other)) {
                    throw new IllegalArgumentException("--compare takes raw, naive, nocache, bare, single and/or replica, not " + other);
                }
            }
            for (String other : compare) {
                if (compare.indexOf(other) != compare.lastIndexOf(other)) { // raw,raw measured raw twice
                    throw new IllegalArgumentException("--compare names each target once, not " + other + " twice");
                }
            }
            for (String appendsOnly : List.of("bare", "single")) {
                if (compare.contains(appendsOnly) && !mix.equals("append") && !mix.equals("append-batch")) {
                    throw new IllegalArgumentException("--compare " + appendsOnly + " only appends: use it with --mix append or append-batch");
                }
            }
            for (String inProcess : List.of("nocache", "replica")) {
                if (compare.contains(inProcess) && url != null) {
                    throw new IllegalArgumentException("--compare " + inProcess + " starts a second Parley in this process: leave out --url");
                }
            }
            if (!cache.equals("on") && !cache.equals("off")) {
                throw new IllegalArgumentException("--cache takes on or off, not " + cache);
            }
            if (cache.equals("off") && url != null) {
                throw new IllegalArgumentException("--cache off sets up the Parley this run starts: leave out --url");
            }
            if (adminUrl != null && url == null) { // it was ignored without a word
                throw new IllegalArgumentException("--admin-url is the admin port of the Parley at --url: give --url too, or leave "
                        + "out --admin-url (the Parley this run starts is read through its own)");
            }
            if (!(rate >= 0) || Double.isInfinite(rate)) { // NaN too: a schedule needs a rate it can divide by
                throw new IllegalArgumentException("--rate takes operations per second, 0 (as fast as possible) or more, not "
                        + rate);
            }
            if (rate > MAX_RATE) { // 1e12 was reported as a schedule and ran as a closed loop
                throw new IllegalArgumentException("--rate takes at most " + plain(MAX_RATE) + " operations per second (a finer "
                        + "schedule cannot be kept), not " + plain(rate) + ": use --rate 0 for as fast as possible");
            }
            if (!(checkWrites >= 0 && checkWrites <= MAX_RATE)) { // NaN too, which ran as none
                throw new IllegalArgumentException("--check-writes takes appends per second, 0 or more up to " + plain(MAX_RATE)
                        + ", not " + plain(checkWrites));
            }
            if (poolSize < 1) { // else the pool library's "maxPoolSize cannot be less than 1", after the database started
                throw new IllegalArgumentException("--pool-size takes 1 or more connections, not " + poolSize);
            }
            if (rounds < 1 || rounds > 20) {
                throw new IllegalArgumentException("--rounds takes 1 to 20, not " + rounds);
            }
        }

        /**
         * {@code address} with its port (80 when it names none), or a usage error: ftp://x and not-a-url failed after
         * PostgreSQL had started, as "parley: x" and "parley: null". The bench's client speaks plain HTTP, no TLS.
         */
        static URI httpAddress(String option, URI address) {
            if (address == null) {
                return null;
            }
            if (!"http".equalsIgnoreCase(address.getScheme()) || address.getHost() == null) {
                throw new IllegalArgumentException(option + " takes an http URL such as http://127.0.0.1:8080 (the bench's "
                        + "client speaks plain HTTP, not TLS), not '" + address + "'");
            }
            return address.getPort() != -1 ? address : URI.create("http://" + address.getHost() + ":80");
        }

        /** A report file the run can write when it ends: found out then, after the whole run, the message was only the path. */
        private static void checkWritable(String option, Path file) {
            if (file == null) {
                return;
            }
            Path absolute = file.toAbsolutePath();
            Path directory = absolute.getParent();
            if (Files.isDirectory(absolute)) {
                throw new IllegalArgumentException(option + " " + file + " is a directory: name a file in it");
            }
            if (directory == null || !Files.isDirectory(directory)) {
                throw new IllegalArgumentException(option + " " + file + ": no such directory " + directory);
            }
            if (Files.exists(absolute) ? !Files.isWritable(absolute) : !Files.isWritable(directory)) {
                throw new IllegalArgumentException(option + " " + file + ": permission denied (" + (Files.exists(absolute)
                        ? "the file is not writable" : "cannot create files in " + directory) + ")");
            }
        }

        private static Duration positive(String option, String text) {
            Duration parsed = atLeastZero(option, text);
            if (parsed.isZero()) {
                throw new IllegalArgumentException(option + " must be longer than 0, such as 30s or 5m");
            }
            return parsed;
        }

        private static Duration atLeastZero(String option, String text) {
            if (text.strip().matches("0*[1-9][0-9]*")) { // 5 was read as 5 milliseconds, without a word
                throw new IllegalArgumentException(option + " " + text.strip() + " needs a unit, such as " + text.strip() + "ms, "
                        + text.strip() + "s or " + text.strip() + "m");
            }
            Duration parsed;
            try {
                parsed = Durations.parse(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(option + ": " + e.getMessage());
            }
            if (parsed.compareTo(LONGEST) > 0) { // 999999999h overflowed a count of nanoseconds after the server started
                throw new IllegalArgumentException(option + " takes at most " + Durations.format(LONGEST) + " (a week), not " + text);
            }
            return parsed;
        }

        private static Period age(String option, String text) {
            try {
                return Ages.parse(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(option + ": " + e.getMessage());
            }
        }

        private boolean base64Embeddings() {
            return switch (embeddings) {
                case "numbers" -> false;
                case "base64" -> true;
                default -> throw new IllegalArgumentException("--embeddings takes numbers or base64, not " + embeddings);
            };
        }

        /**
         * Parley over HTTP with a read replica: a streaming standby of the dataset, made in a folder beside it and
         * removed afterwards, then the read-your-writes probe through the same Parley.
         */
        private Workload.Result measureWithReplica(Database db, ConnectionTarget target, long appId, Population population,
                                                   Workload.Plan plan, HttpTarget.Client client, PrintWriter out) throws Exception {
            out.println("making a standby of the dataset for the replica target ...");
            out.flush();
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("parley-bench-standby");
            try (var standby = dev.parley.db.Standby.of(target, dir)) {
                var env = new java.util.HashMap<>(Map.of("PARLEY_REPLICA_URLS", standby.target(
                        target.jdbcUrl().substring(target.jdbcUrl().lastIndexOf('/') + 1)).jdbcUrl()));
                if (cache.equals("off")) {
                    env.put("PARLEY_CACHE_SIZE", "0");
                }
                return measureHttp("replica", env, db, target, appId, population, plan, client, out,
                        (base, key) -> ReadYourWrites.measure(base, key, population, 500, out));
            }
        }

        /** Something to run against the Parley a target measured, while it still runs. */
        private interface Afterwards {
            void run(URI base, String key) throws Exception;
        }

        private Workload.Result measureHttp(String name, Map<String, String> env, Database db, ConnectionTarget target,
                                            long appId, Population population, Workload.Plan plan, HttpTarget.Client client,
                                            PrintWriter out) throws Exception {
            return measureHttp(name, env, db, target, appId, population, plan, client, out, null);
        }

        /** Measures Parley over HTTP as target {@code name}: at --url, or a Parley started here with {@code env} on top. */
        private Workload.Result measureHttp(String name, Map<String, String> env, Database db, ConnectionTarget target,
                                            long appId, Population population, Workload.Plan plan, HttpTarget.Client client,
                                            PrintWriter out, Afterwards afterwards) throws Exception {
            var keys = new ApiKeys(db, com.github.benmanes.caffeine.cache.Ticker.systemTicker());
            ApiKeys.Issued issued = keys.issue(appId);
            try {
                return measureHttp(name, env, target, population, plan, client, out, afterwards, db, issued.key());
            } finally { // each run left its key active: 28 runs, aborted ones too, 28 keys for the bench app
                keys.revoke(appId, String.valueOf(issued.id()));
            }
        }

        /** {@link #measureHttp} with {@code key}, an API key of the bench app, to present. */
        private Workload.Result measureHttp(String name, Map<String, String> env, ConnectionTarget target, Population population,
                                            Workload.Plan plan, HttpTarget.Client client, PrintWriter out, Afterwards afterwards,
                                            Database db, String key) throws Exception {
            Parley inProcess = null;
            URI base = url;
            URI admin = adminUrl != null ? adminUrl : url == null ? null
                    : URI.create("http://" + url.getHost() + ":" + dev.parley.config.Admin.DEFAULT_PORT);
            if (base == null) {
                // The analytics views are refreshed at most daily: a refresh takes one of the two cores for
                // seconds, and at the default interval it fell inside some runs' measured time and not others'.
                var serverEnv = new java.util.HashMap<>(Map.of("PARLEY_PORT", "0", "PARLEY_POOL_SIZE", String.valueOf(poolSize),
                        "PARLEY_SLOW_QUERY", "1s", "PARLEY_ANALYTICS_REFRESH", "24h", "PARLEY_ADMIN_PORT", "0"));
                serverEnv.putAll(env);
                dev.parley.logging.LoggingConfig.silenceAccessLog(); // a line per request of our own load would cost more than the request
                inProcess = Parley.start(Settings.resolve(Settings.Flags.none(), serverEnv), target, false, Clock.systemUTC());
                base = URI.create("http://127.0.0.1:" + inProcess.port());
                admin = URI.create("http://127.0.0.1:" + inProcess.adminPort());
            }
            var endpoints = new HttpTarget.Endpoints(base, key, admin, System.getenv("PARLEY_ADMIN_KEY"), inProcess != null);
            try (HttpTarget http = new HttpTarget(name, endpoints, population.dims(), client)) {
                if (inProcess == null) {
                    http.probe("--url"); // before the warm-up, and before the admin port is first asked for counters
                }
                out.println("measuring " + name + " over HTTP at " + base + " ...");
                out.flush();
                Workload.Result result = Workload.run(http, population, plan, CpuUse.Meter.of(db));
                if (afterwards != null) {
                    afterwards.run(base, key);
                }
                return result;
            } finally {
                if (inProcess != null) {
                    inProcess.close();
                }
            }
        }

        private Report.Context context(Database db, Population population, Workload.Plan plan) {
            long messages = db.read(handle -> handle.first(new Query("bench.message_estimate",
                    "SELECT sum(c.reltuples)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            + "WHERE i.inhparent = 'messages'::regclass"), row -> row.getLong(1))).orElse(0L);
            long months = new Partitions(db).list().stream().filter(p -> !p.isCatchAll()).count();
            String dataset = "%s messages, %s conversations, %d monthly partitions".formatted(DatasetSpec.human(round(messages)),
                    DatasetSpec.human(population.size()), months);
            String command = "parley " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
            return new Report.Context(Instant.now().atZone(ZoneOffset.UTC).toLocalDate().toString(), command, dataset,
                    Machine.describe(db), plan.mixName(), plan.concurrency(), duration + "", warmup,
                    load(plan.rate()));
        }

        /** How the run drives its targets, as the report says it: the rate as given ("0.05", not "0"). */
        static String load(double rate) {
            return rate > 0 ? "fixed schedule of " + plain(rate) + " ops/s" : "closed loop (as fast as possible)";
        }

        private static String plain(double number) {
            return Double.isFinite(number) ? java.math.BigDecimal.valueOf(number).stripTrailingZeros().toPlainString()
                    : String.valueOf(number);
        }

        /** The run's rounds to --json (the one report, or every round's and the ratios across them) and --markdown. */
        private void write(List<Report> reports) throws IOException {
            if (json != null) {
                Files.writeString(json, reports.size() == 1 ? reports.getFirst().json() : Report.json(reports));
            }
            if (markdown != null) {
                StringBuilder md = new StringBuilder();
                reports.forEach(report -> md.append(report.markdown()));
                if (reports.size() > 1) {
                    md.append(Report.acrossRoundsMarkdown(reports));
                }
                Files.writeString(markdown, md, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
        }

        private static long round(long estimate) {
            return estimate < 1000 ? estimate : Math.round(estimate / 1000.0) * 1000;
        }
    }

    private interface DatabaseWork {
        Integer run(Database database, ConnectionTarget target) throws Exception;
    }

    /** {@code making}: a data folder without a database gets one (load and import fill a new folder; run needs a dataset). */
    private static Integer withDatabase(Settings settings, boolean making, int poolSize, DatabaseWork work) {
        try (var storage = making ? Storage.forCommandMaking(settings) : Storage.forCommand(settings);
             var db = storage.connect(poolSize, POOL_TIMEOUT)) {
            return work.run(db, storage.target());
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
