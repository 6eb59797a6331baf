package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.Parley;
import dev.parley.apps.ApiKeys;
import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.lifecycle.Archive;
import dev.parley.db.Query;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.support.Ports;
import dev.parley.support.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The bench on a small dataset and a short run: it must measure every operation on every target. */
class BenchTest {
    private static final Instant DAY = Instant.parse("2026-11-20T00:00:00Z");

    @Test
    void a_short_run_reports_every_operation_for_every_target_with_ratios_from_measured_numbers() throws Exception {
        var target = TestDatabase.get().migrated("parley_bench_run");
        try (Database db = TestDatabase.pool(target, 8)) {
            var loaded = new DatasetLoader(db, new PrintWriter(new StringWriter())).load(
                    DatasetSpec.of(20_000, null, null, null, null, 32, 6, 42, DAY));
            Population population = Population.load(db, loaded.appId(), Population.Popularity.BY_SIZE);
            var plan = new Workload.Plan("chat", 4, Duration.ofMillis(300), Duration.ofSeconds(2), 0, 1, 20);
            var memorySearches = new Workload.Plan("search-memories", 2, Duration.ofMillis(100), Duration.ofMillis(500), 0, 1);
            List<Workload.Result> results = new ArrayList<>();
            List<Workload.Result> searched = new ArrayList<>();
            CpuUse.Meter cpu = CpuUse.Meter.of(db);
            Settings settings = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "0", "PARLEY_POOL_SIZE", "4",
                    "PARLEY_ADMIN_PORT", "0"));
            try (Parley parley = Parley.start(settings, target, false, Clock.systemUTC());
                 var http = new HttpTarget("parley", new HttpTarget.Endpoints(URI.create("http://127.0.0.1:" + parley.port()),
                         new ApiKeys(db, com.github.benmanes.caffeine.cache.Ticker.systemTicker()).issue(loaded.appId()).key(),
                         // read as if apart, so that the server's CPU is scraped from its metrics as for a server of its own
                         URI.create("http://127.0.0.1:" + parley.adminPort()), null, false),
                         population.dims(), HttpTarget.Client.PLAIN)) {
                results.add(Workload.run(http, population, plan, cpu));
                searched.add(Workload.run(http, population, memorySearches, null));
            }
            try (var raw = new ServiceTarget(db, loaded.appId(), 1, population.dims());
                 var naive = new NaiveTarget(db, loaded.appId(), population.dims())) {
                results.add(Workload.run(raw, population, plan, cpu));
                results.add(Workload.run(naive, population, plan, null));
                searched.add(Workload.run(raw, population, memorySearches, null));
                searched.add(Workload.run(naive, population, memorySearches, null));
            }
            var report = new Report(new Report.Context("2026-11-23", "parley bench run --duration 2s", "20k messages",
                    Machine.describe(db), "chat", 4, "2s", "300ms", "closed loop"), results);

            var memoryReport = new Report(new Report.Context("2026-11-23", "parley bench run --mix search-memories", "20k messages",
                    Machine.describe(db), "search-memories", 2, "500ms", "100ms", "closed loop"), searched);
            for (String name : List.of("parley", "raw", "naive")) {
                for (Operation op : Mix.named("chat").operations()) {
                    assertMeasured(report, name, op);
                }
                assertMeasured(memoryReport, name, Operation.SEARCH_MEMORIES);
            }
            for (Report.Ratios ratio : report.ratios()) {
                Report.Row first = row(report, ratio.operation(), ratio.target());
                Report.Row other = row(report, ratio.operation(), ratio.against());
                assertThat(ratio.throughput()).isCloseTo(first.throughput() / other.throughput(), org.assertj.core.data.Offset.offset(1e-9));
                assertThat(ratio.p99()).isCloseTo(first.p99() / other.p99(), org.assertj.core.data.Offset.offset(1e-9));
            }
            assertThat(report.ratios()).hasSize(3 * Mix.named("chat").operations().size());
            assertThat(report.markdown()).contains("| history, last 50 | parley |").contains("| parley ÷ raw |").contains("| raw ÷ naive |");
            assertThat(report.json()).contains("\"ratios\"").contains("\"cpu_per_operation\"");
            String database = cpu.seesDatabase() ? ", PostgreSQL [0-9,]+ µs" : "";
            assertThat(report.text()).as("CPU per operation, in the measured period")
                    .containsPattern("parley cpu per operation: bench [0-9,]+ µs, server [1-9][0-9,]* µs" + database + ", machine (≥ )?[1-9]")
                    .containsPattern("raw cpu per operation: bench [1-9][0-9,]* µs" + database + ", machine (≥ )?[1-9]")
                    .doesNotContain("naive cpu per operation");
            assertThat(report.caches()).as("only the HTTP target has caches to count").containsOnlyKeys("parley");
            assertThat(report.text()).containsPattern("parley caches: (no cache metrics|\\w+ [0-9.]+ % of )");
            Freshness.Counts checked = results.getFirst().freshness();
            assertThat(checked.checked()).as("history pages held to an acknowledged append").isPositive();
            assertThat(checked.stale()).as(checked.firstStale()).isZero();
            assertThat(report.text()).contains("parley staleness: 0 stale of");
            for (Workload.Result result : results) {
                assertThat(result.background().appended()).as(result.target() + " background appends").isPositive();
                assertThat(result.background().failed()).as(result.background().firstFailure()).isZero();
            }
        }
    }

    private static void assertMeasured(Report report, String target, Operation op) {
        var row = report.rows().stream().filter(r -> r.target().equals(target) && r.operation() == op).findFirst();
        assertThat(row).as(target + " " + op).isPresent();
        assertThat(row.get().count()).as(target + " " + op).isPositive();
        assertThat(row.get().errors()).as(target + " " + op + ": " + row.get().firstError()).isZero();
        assertThat(row.get().p50()).isPositive().isLessThanOrEqualTo(row.get().p99());
    }

    @Test
    void the_staleness_checker_flags_a_latest_page_that_misses_an_append_acknowledged_before_it_was_asked_for() {
        var freshness = new Freshness();
        byte[] before = MiniHttp.bytes("{\"messages\":[{\"id\":\"10\",\"conversation_id\":\"7\"},{\"id\":\"11\","
                + "\"reply_to_id\":\"99\"}],\"has_older\":false}");
        byte[] after = MiniHttp.bytes("{\"messages\":[{\"id\":\"11\"},{\"id\":\"12\"}]}");
        byte[] acknowledged = MiniHttp.bytes("{\"id\":\"12\",\"conversation_id\":\"7\",\"seq\":3}");
        assertThat(Freshness.newestId(before, before.length)).as("the last object's id, not a field ending in id").isEqualTo(11);

        long askedBeforeTheAck = System.nanoTime();
        freshness.appended(7, acknowledged, acknowledged.length);
        long askedAfter = System.nanoTime();
        freshness.read(7, askedBeforeTheAck, before, before.length);
        freshness.read(8, askedAfter, before, before.length);
        assertThat(freshness.counts()).as("nothing to hold these to").isEqualTo(new Freshness.Counts(0, 0, null));

        freshness.read(7, askedAfter, after, after.length);
        freshness.read(7, askedAfter, before, before.length);
        assertThat(freshness.counts().checked()).isEqualTo(2);
        assertThat(freshness.counts().stale()).isEqualTo(1);
        assertThat(freshness.counts().firstStale()).startsWith("conversation 7: page's newest message 11, acknowledged 12");
    }

    @Test
    void throughput_counts_operations_that_ran_not_the_samples_back_filled_for_stalls() throws Exception {
        var ran = new java.util.concurrent.atomic.AtomicLong();
        Target stalling = target("stalling", (operation, pick) -> {
            Thread.sleep(ran.incrementAndGet() % 10 == 0 ? 40 : 2); // one call in ten stalls
        });
        var population = Population.of(new long[][] {{1, 1, 1, 1, 1}}, 0, Population.Popularity.BY_SIZE);
        var plan = new Workload.Plan("history", 2, Duration.ofMillis(300), Duration.ofSeconds(1), 0, 1);

        Workload.Result result = Workload.run(stalling, population, plan, null);
        long measured = result.completed().get(Operation.HISTORY);
        var machine = new Machine(2, "test", 1024, "test", "test", "none");
        var row = new Report(new Report.Context("2026-11-29", "test", "none", machine, "history", 2, "1s", "300ms",
                "closed loop"), List.of(result)).rows().getFirst();

        assertThat(result.latencies().get(Operation.HISTORY).getTotalCount()).as("stalls back-filled").isGreaterThan(measured);
        assertThat(row.count()).isEqualTo(measured);
        assertThat(row.throughput()).isCloseTo(measured / (result.measured().toNanos() / 1e9), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(ran.get()).isGreaterThanOrEqualTo(measured);
    }

    @Test
    void a_run_at_a_low_rate_stops_at_its_duration_and_its_report_gives_the_rate_as_asked() {
        var ran = new java.util.concurrent.atomic.AtomicLong();
        Target quick = target("quick", (operation, pick) -> ran.incrementAndGet());
        var population = Population.of(new long[][] {{1, 1, 1, 1, 1}}, 0, Population.Popularity.BY_SIZE);
        long began = System.nanoTime();

        for (double rate : List.of(0.05, 0.001, Double.MIN_VALUE)) {
            var plan = new Workload.Plan("history", 32, Duration.ofMillis(100), Duration.ofMillis(300), rate, 1);
            Workload.Result result = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5),
                    () -> Workload.run(quick, population, plan, null), "--rate " + rate);
            assertThat(result.completed().get(Operation.HISTORY)).as("the first worker's one turn").isEqualTo(1);
        }

        assertThat(Duration.ofNanos(System.nanoTime() - began)).as("three runs of 400 ms").isLessThan(Duration.ofSeconds(3));
        assertThat(BenchCommand.Run.load(0.05)).isEqualTo("fixed schedule of 0.05 ops/s");
        assertThat(BenchCommand.Run.load(200)).isEqualTo("fixed schedule of 200 ops/s");
        assertThat(BenchCommand.Run.load(0)).isEqualTo("closed loop (as fast as possible)");
    }

    @Test
    void a_request_on_a_kept_alive_connection_the_server_closed_meanwhile_goes_again_on_a_new_one() throws Exception {
        // Answers one request a connection and closes it without saying so, as a server closes an idle one.
        try (var server = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon().start(() -> {
                while (!server.isClosed()) {
                    try (var connection = server.accept()) {
                        var request = new java.io.BufferedReader(new java.io.InputStreamReader(connection.getInputStream()));
                        for (String line = request.readLine(); line != null && !line.isEmpty(); line = request.readLine()) {
                            // the request's head, up to the empty line
                        }
                        connection.getOutputStream().write(MiniHttp.bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
                    } catch (java.io.IOException e) {
                        return; // the server socket closed at the end of the test
                    }
                }
            });
            try (var http = new MiniHttp("127.0.0.1", server.getLocalPort(), "key")) {
                assertThat(http.get("/first").status()).isEqualTo(200);
                Thread.sleep(50); // the server's close arrives

                assertThat(http.get("/second").status()).isEqualTo(200);
                assertThat(http.get("/third").text()).isEqualTo("{}");
            }
        }
    }

    @Test
    void one_run_measures_parley_with_and_without_its_cache_with_base64_embeddings_and_gzip_over_a_zipf_hot_set() throws Exception {
        var target = TestDatabase.get().migrated("parley_bench_nocache");
        try (Database db = TestDatabase.pool(target, 4)) {
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(DatasetSpec.of(10_000, null, null, null, null, 16, 3, 42, DAY));
        }
        java.nio.file.Path json = java.nio.file.Files.createTempFile("bench", ".json");

        var run = dev.parley.support.Cli.parley("bench", "run", "--database-url", TestDatabase.get().url("parley_bench_nocache"),
                "--mix", "chat", "--concurrency", "2", "--duration", "2s", "--warmup", "300ms", "--pool-size", "4",
                "--compare", "nocache", "--popularity", "zipf:1.2", "--embeddings", "base64", "--gzip", "--check-writes", "50",
                "--json", json.toString());

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("measuring nocache over HTTP").contains("parley / nocache")
                .containsPattern("parley +caches: ").containsPattern("nocache caches: ");
        var report = dev.parley.json.Json.MAPPER.readTree(json.toFile());
        for (String name : List.of("parley", "nocache")) {
            for (Operation op : Mix.named("chat").operations()) {
                var row = java.util.stream.StreamSupport.stream(report.get("results").spliterator(), false)
                        .filter(r -> r.get("target").asText().equals(name) && r.get("operation").asText().equals(op.name()))
                        .findFirst();
                assertThat(row).as(name + " " + op).isPresent();
                assertThat(row.get().get("errors").asLong()).as(name + " " + op + ": " + row.get().get("first_error")).isZero();
            }
        }
        for (String name : List.of("parley", "nocache")) {
            var staleness = report.get("staleness").get(name);
            assertThat(staleness).as(name + ": gzipped pages are unzipped to be checked").isNotNull();
            assertThat(staleness.get("checked").asLong()).as(name + " pages checked").isPositive();
            assertThat(staleness.get("stale").asLong()).as(String.valueOf(staleness.get("first_stale"))).isZero();
        }
        assertThat(run.out()).contains("parley staleness: 0 stale of");
        assertThat(report.get("caches").has("nocache")).isTrue();
        assertThat(report.get("caches").get("nocache").get("by_cache")).as("the cache is off").allSatisfy(
                counts -> assertThat(counts.get("hits").asLong()).isZero());
    }

    @Test
    void appends_are_compared_with_bare_inserts_and_single_transactions_in_one_run_and_both_refuse_other_mixes() throws Exception {
        var target = TestDatabase.get().migrated("parley_bench_bare");
        try (Database db = TestDatabase.pool(target, 4)) {
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(DatasetSpec.of(5_000, null, null, null, null, 16, 3, 42, DAY));
        }
        String url = TestDatabase.get().url("parley_bench_bare");

        java.nio.file.Path json = java.nio.file.Files.createTempFile("bench-rounds", ".json");
        var run = dev.parley.support.Cli.parley("bench", "run", "--database-url", url, "--mix", "append", "--concurrency", "2",
                "--duration", "500ms", "--warmup", "200ms", "--pool-size", "4", "--compare", "bare,single", "--rounds", "2",
                "--json", json.toString());

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("measuring bare").containsPattern("append one message +bare +\\d+")
                .contains("parley / bare").containsPattern("append one message +single +[1-9]\\d*").contains("parley / single");
        assertThat(run.out()).as("each target measured in both rounds, and each ratio given round by round")
                .contains("round 1 of 2:").contains("round 2 of 2:").contains("across 2 rounds:")
                .containsPattern("parley / single append one message +throughput [0-9.]+x, [0-9.]+x, median [0-9.]+x");
        String firstRound = run.out().substring(run.out().indexOf("round 1 of 2:"), run.out().indexOf("round 2 of 2:"));
        String secondRound = run.out().substring(run.out().indexOf("round 2 of 2:"));
        assertThat(firstRound.indexOf("measuring parley")).isLessThan(firstRound.indexOf("measuring bare"));
        assertThat(firstRound.indexOf("measuring bare")).isLessThan(firstRound.indexOf("measuring single"));
        assertThat(secondRound.indexOf("measuring single")).as("the second round in reverse order")
                .isLessThan(secondRound.indexOf("measuring bare"));
        assertThat(secondRound.indexOf("measuring bare")).isLessThan(secondRound.indexOf("measuring parley"));
        var rounds = dev.parley.json.Json.MAPPER.readTree(json.toFile());
        assertThat(rounds.get("rounds")).hasSize(2);
        assertThat(rounds.get("rounds").get(1).get("results").get(0).get("target").asText())
                .as("each round reported in the first order").isEqualTo("parley");
        for (var round : rounds.get("rounds")) {
            assertThat(round.get("results")).as("parley, bare and single").hasSize(3);
        }
        var acrossParleySingle = java.util.stream.StreamSupport.stream(rounds.get("across_rounds").spliterator(), false)
                .filter(r -> r.get("target").asText().equals("parley") && r.get("against").asText().equals("single"))
                .findFirst().orElseThrow();
        var roundRatios = java.util.stream.StreamSupport.stream(rounds.get("rounds").spliterator(), false)
                .map(round -> java.util.stream.StreamSupport.stream(round.get("ratios").spliterator(), false)
                        .filter(r -> r.get("target").asText().equals("parley") && r.get("against").asText().equals("single"))
                        .findFirst().orElseThrow().get("throughput").asDouble())
                .toList();
        assertThat(acrossParleySingle.get("throughput")).extracting(com.fasterxml.jackson.databind.JsonNode::asDouble)
                .as("the ratio of each round, in order").containsExactlyElementsOf(roundRatios);
        assertThat(acrossParleySingle.get("median_throughput").asDouble())
                .isCloseTo((roundRatios.get(0) + roundRatios.get(1)) / 2, org.assertj.core.data.Offset.offset(1e-9));
        long inserted;
        try (Database db = TestDatabase.pool(target, 1)) {
            inserted = db.read(handle -> handle.first(new Query("test.bare_rows", "SELECT count(*) FROM bench_bare_messages"),
                    row -> row.getLong(1))).orElseThrow();
        }
        assertThat(inserted).as("the bare target wrote its rows").isPositive();

        var batches = dev.parley.support.Cli.parley("bench", "run", "--database-url", url, "--mix", "append-batch", "--concurrency",
                "2", "--duration", "500ms", "--warmup", "200ms", "--pool-size", "4", "--compare", "raw,naive,bare,single");
        assertThat(batches.status()).as(batches.err()).isZero();
        for (String name : List.of("parley", "raw", "naive", "bare", "single")) {
            assertThat(batches.out()).containsPattern("append 100 messages in one request +" + name + " +[1-9]\\d*");
        }
        long insertedInBatches;
        try (Database db = TestDatabase.pool(target, 1)) {
            insertedInBatches = db.read(handle -> handle.first(new Query("test.bare_rows", "SELECT count(*) FROM bench_bare_messages"),
                    row -> row.getLong(1))).orElseThrow() - inserted;
        }
        assertThat(insertedInBatches % 100).as("bare batches of a hundred rows").isZero();
        assertThat(insertedInBatches).isPositive();

        for (String appendsOnly : List.of("bare", "single")) {
            var refused = dev.parley.support.Cli.parley("bench", "run", "--database-url", url, "--mix", "chat", "--compare", appendsOnly);
            assertThat(refused.status()).isNotZero();
            assertThat(refused.err() + refused.out()).contains("--compare " + appendsOnly + " only appends");
        }
    }

    @Test
    void a_run_with_an_option_it_cannot_take_is_a_usage_error_naming_the_choices_before_it_touches_a_database() {
        String nowhere = "postgres://nobody:secret@127.0.0.1:1/none"; // no database answers here: each refusal must come first
        Map<List<String>, String> refusals = Map.ofEntries(
                Map.entry(List.of("--mix", "nope"), "--mix takes chat, read, write, or one operation: inbox, history, context, "
                        + "append, append-batch, mark-read, browse, search, recall, search-memories, window-count, filtered-history; "
                        + "not 'nope'"),
                Map.entry(List.of("--duration", "-1s"), "--duration: not a duration"),
                Map.entry(List.of("--duration", "6 months"), "--duration: not a duration"),
                Map.entry(List.of("--duration", "0"), "--duration must be longer than 0"),
                Map.entry(List.of("--warmup", "soon"), "--warmup: not a duration"),
                Map.entry(List.of("--concurrency", "0"), "--concurrency takes 1 or more"),
                Map.entry(List.of("--rounds", "0"), "--rounds takes 1 to 20, not 0"),
                Map.entry(List.of("--rounds", "21"), "--rounds takes 1 to 20, not 21"),
                Map.entry(List.of("--check-writes", "-1"), "--check-writes takes appends per second, 0 or more"),
                Map.entry(List.of("--check-writes", "NaN"), "--check-writes takes appends per second, 0 or more up to 1000000, not NaN"),
                Map.entry(List.of("--duration", "999999999h"), "--duration takes at most 168h (a week), not 999999999h"),
                Map.entry(List.of("--duration", "5"), "--duration 5 needs a unit, such as 5ms, 5s or 5m"),
                Map.entry(List.of("--warmup", "300"), "--warmup 300 needs a unit"),
                Map.entry(List.of("--warmup", "200h"), "--warmup takes at most 168h (a week), not 200h"),
                Map.entry(List.of("--pool-size", "0"), "--pool-size takes 1 or more connections, not 0"),
                Map.entry(List.of("--popularity", "zipf:"), "--popularity zipf:S takes an exponent in (0, 5], not ''"),
                Map.entry(List.of("--active-within", "3x"), "--active-within: an age is a whole number above 0"),
                Map.entry(List.of("--rate=-1"), "--rate takes operations per second, 0 (as fast as possible) or more, not -1.0"),
                Map.entry(List.of("--rate", "1e12"), "--rate takes at most 1000000 operations per second (a finer schedule "
                        + "cannot be kept), not 1000000000000"),
                Map.entry(List.of("--rate", "NaN"), "--rate takes operations per second, 0 (as fast as possible) or more, not NaN"),
                Map.entry(List.of("--url", "ftp://x"), "--url takes an http URL such as http://127.0.0.1:8080"),
                Map.entry(List.of("--url", "not-a-url"), "--url takes an http URL such as http://127.0.0.1:8080 (the bench's "
                        + "client speaks plain HTTP, not TLS), not 'not-a-url'"),
                Map.entry(List.of("--url", "https://parley.example"), "--url takes an http URL"),
                Map.entry(List.of("--url", "http://127.0.0.1:1", "--admin-url", "localhost:8081"), "--admin-url takes an http URL"),
                Map.entry(List.of("--json", "/no-such-directory/report.json"),
                        "--json /no-such-directory/report.json: no such directory /no-such-directory"),
                Map.entry(List.of("--markdown", System.getProperty("java.io.tmpdir")), "--markdown " + System.getProperty("java.io.tmpdir")
                        + " is a directory: name a file in it"),
                Map.entry(List.of("--admin-url", "http://127.0.0.1:8081"), "--admin-url is the admin port of the Parley at --url: "
                        + "give --url too"),
                Map.entry(List.of("--cache", "maybe"), "--cache takes on or off, not maybe"),
                Map.entry(List.of("--embeddings", "floats"), "--embeddings takes numbers or base64, not floats"),
                Map.entry(List.of("--compare", "raw,naive,raw"), "--compare names each target once, not raw twice"),
                Map.entry(List.of("--compare", "fast"), "--compare takes raw, naive, nocache, bare, single and/or replica, not fast"));
        refusals.forEach((options, message) -> {
            List<String> args = new ArrayList<>(List.of("bench", "run", "--database-url", nowhere));
            args.addAll(options);
            var refused = dev.parley.support.Cli.parley(args.toArray(String[]::new));
            assertThat(refused.status()).as(String.join(" ", options) + ": " + refused.err()).isEqualTo(2);
            assertThat(refused.err()).as(String.join(" ", options)).contains(message).doesNotContain("No enum constant");
        });
    }

    /** A bench dataset of {@code messages} in database {@code name}; its URL. */
    private static String loaded(String name, int messages) {
        var target = TestDatabase.get().migrated(name);
        try (Database db = TestDatabase.pool(target, 4)) {
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(DatasetSpec.of(messages, null, null, null, null, 16, 2, 42, DAY));
        }
        return TestDatabase.get().url(name);
    }

    /** A short run's options against the Parley at {@code url}. */
    private static dev.parley.support.Cli.Run shortRun(String database, String... options) {
        List<String> args = new ArrayList<>(List.of("bench", "run", "--database-url", database, "--mix", "history",
                "--concurrency", "1", "--duration", "300ms", "--warmup", "0s", "--pool-size", "2"));
        args.addAll(List.of(options));
        return dev.parley.support.Cli.parley(args.toArray(String[]::new));
    }

    @Test
    void a_run_against_a_url_where_nothing_answers_or_that_refuses_the_key_fails_at_once_naming_the_url() throws Exception {
        String url = loaded("parley_bench_probe", 2_000);
        int closed = Ports.free();
        var other = TestDatabase.get().migrated("parley_bench_probe_other");
        Settings settings = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "0", "PARLEY_POOL_SIZE", "2",
                "PARLEY_ADMIN_PORT", "0"));

        var nothing = shortRun(url, "--url", "http://127.0.0.1:" + closed);
        dev.parley.support.Cli.Run otherDatabase;
        try (Parley parley = Parley.start(settings, other, false, Clock.systemUTC())) {
            otherDatabase = shortRun(url, "--url", "http://127.0.0.1:" + parley.port(), "--admin-url",
                    "http://127.0.0.1:" + parley.adminPort());
        }

        assertThat(nothing.status()).as(nothing.err()).isEqualTo(1);
        assertThat(nothing.err()).as("--url named first, not the admin port")
                .startsWith("parley: nothing answers at --url http://127.0.0.1:" + closed).doesNotContain("admin");
        assertThat(nothing.out()).doesNotContain("measuring parley");
        assertThat(otherDatabase.status()).as(otherDatabase.err()).isEqualTo(1);
        assertThat(otherDatabase.err()).contains("does not know the bench app's key")
                .contains("it must serve the database given by --database-url/--data-dir");
    }

    @Test
    void a_run_revokes_the_api_key_it_made_for_the_bench_app_when_it_ends_or_fails() throws Exception {
        String url = loaded("parley_bench_keys", 2_000);
        int closed = Ports.free();
        long before = activeBenchKeys("parley_bench_keys");

        var run = shortRun(url);
        var failed = shortRun(url, "--url", "http://127.0.0.1:" + closed);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(failed.status()).as(failed.err()).isEqualTo(1);
        assertThat(activeBenchKeys("parley_bench_keys")).as("no key left behind by either run").isEqualTo(before);
    }

    private static long activeBenchKeys(String database) throws java.sql.SQLException {
        try (var sql = TestDatabase.get().connect(database);
             var rows = sql.createStatement().executeQuery("""
                     SELECT count(*) FROM api_keys k JOIN apps a USING (app_id) WHERE a.name = 'bench' AND k.revoked_at IS NULL""")) {
            rows.next();
            return rows.getLong(1);
        }
    }

    @Test
    void a_run_in_which_an_operation_only_failed_prints_its_report_and_exits_1_naming_it() throws Exception {
        String url = loaded("parley_bench_failing", 2_000);
        // Answers the probe and the admin port's metrics, and every operation with a 500.
        var failing = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        failing.createContext("/", exchange -> {
            String asked = exchange.getRequestURI().toString();
            int status = asked.equals("/metrics") || asked.equals("/v1/characters?limit=1") ? 200 : 500;
            byte[] body = MiniHttp.bytes(asked.equals("/metrics") ? "" : "{}");
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        failing.start();
        dev.parley.support.Cli.Run run;
        try {
            String at = "http://127.0.0.1:" + failing.getAddress().getPort();
            run = shortRun(url, "--url", at, "--admin-url", at);
        } finally {
            failing.stop(0);
        }

        assertThat(run.out()).as("the report first").contains("errors in parley/history, last 50, first: IOException");
        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).contains("parley: parley/history, last 50 completed no operation, every one failed");
    }

    @Test
    void the_median_of_a_ratio_over_rounds_is_the_middle_round_or_the_mean_of_the_middle_two() {
        assertThat(Report.median(List.of(2.4, 1.9, 3.1))).isEqualTo(2.4);
        assertThat(Report.median(List.of(2.4, 1.9, 3.1, 2.0))).isCloseTo(2.2, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Report.median(List.of(0.7))).isEqualTo(0.7);
    }

    @Test
    void a_dataset_can_end_on_an_earlier_day_but_not_a_later_one() {
        Instant now = Instant.parse("2026-12-02T15:46:00Z");
        assertThat(BenchCommand.Load.endOfHistory(null, now)).isEqualTo(now);
        assertThat(BenchCommand.Load.endOfHistory("2026-11-29", now)).isEqualTo(Instant.parse("2026-11-29T00:00:00Z"));
        assertThat(BenchCommand.Load.endOfHistory("2026-12-02", now)).isEqualTo(Instant.parse("2026-12-02T00:00:00Z"));

        var later = dev.parley.support.Cli.parley("bench", "load", "--messages", "1000", "--ends", "2999-01-01");
        assertThat(later.status()).isNotZero();
        assertThat(later.err()).contains("--ends 2999-01-01 is after today");
        var malformed = dev.parley.support.Cli.parley("bench", "load", "--messages", "1000", "--ends", "29/11/2026");
        assertThat(malformed.status()).isNotZero();
        assertThat(malformed.err()).contains("--ends takes a day as YYYY-MM-DD, not 29/11/2026");
    }

    @Test
    void a_load_count_out_of_range_or_unreadable_is_a_usage_error_naming_its_option() {
        String nowhere = "postgres://nobody@127.0.0.1:1/none"; // no database answers here: each refusal must come first
        Map<List<String>, String> refusals = Map.ofEntries(
                Map.entry(List.of("--users=0"), "--users must be between 1 and 10G, got 0"),
                Map.entry(List.of("--characters=0"), "--characters must be between 1 and 10G, got 0"),
                Map.entry(List.of("--conversations=0"), "--conversations must be between 1 and 10G, got 0"),
                Map.entry(List.of("--memories=0"), "--memories must be between 1 and 10G, got 0"),
                Map.entry(List.of("--users=3G"), "--users must be at most 2147483647, got 3G"),
                Map.entry(List.of("--conversations=lots"), "--conversations takes a count such as 20000, 250k or 10M, not 'lots'"));
        refusals.forEach((options, message) -> {
            List<String> args = new ArrayList<>(List.of("bench", "load", "--database-url", nowhere, "--messages", "1000"));
            args.addAll(options);
            var refused = dev.parley.support.Cli.parley(args.toArray(String[]::new));
            assertThat(refused.status()).as(String.join(" ", options) + ": " + refused.err()).isEqualTo(2);
            assertThat(refused.err()).as(String.join(" ", options)).contains(message);
        });
        var noMessages = dev.parley.support.Cli.parley("bench", "load", "--database-url", nowhere, "--messages", "0");
        assertThat(noMessages.status()).isEqualTo(2);
        assertThat(noMessages.err()).contains("--messages must be between 1 and 10G, got 0");
    }

    @Test
    void an_import_over_no_conversations_is_a_usage_error_naming_the_option() {
        for (String conversations : List.of("0", "-1")) {
            var refused = dev.parley.support.Cli.parley("bench", "import", "--database-url", "postgres://nobody@127.0.0.1:1/none",
                    "--messages", "100", "--conversations=" + conversations);

            assertThat(refused.status()).as(refused.err()).isEqualTo(2);
            assertThat(refused.err()).contains("--conversations takes 1 or more, not " + conversations);
        }
    }

    @Test
    void a_dataset_whose_months_would_reach_back_before_2000_is_refused_naming_the_earliest_end() {
        String nowhere = "postgres://nobody@127.0.0.1:1/none"; // an accepted end goes on to connect, and fails there

        var tooEarly = dev.parley.support.Cli.parley("bench", "load", "--database-url", nowhere, "--messages", "1000",
                "--ends", "2000-03-01");
        var dayTooEarly = dev.parley.support.Cli.parley("bench", "load", "--database-url", nowhere, "--messages", "1000",
                "--months", "2", "--ends", "2000-02-29");
        var earliest = dev.parley.support.Cli.parley("bench", "load", "--database-url", nowhere, "--messages", "1000",
                "--months", "2", "--ends", "2000-03-01");

        assertThat(tooEarly.status()).as(tooEarly.err()).isEqualTo(2);
        assertThat(tooEarly.err()).contains("--ends 2000-03-01 with --months 12 would date messages before 2000-01-01",
                "the earliest --ends for 12 month(s) is 2000-12-26");
        assertThat(dayTooEarly.status()).as(dayTooEarly.err()).isEqualTo(2);
        assertThat(dayTooEarly.err()).contains("the earliest --ends for 2 month(s) is 2000-03-01");
        assertThat(earliest.status()).as("60 days back from 2000-03-01 is 2000-01-01: " + earliest.err()).isEqualTo(1);
        assertThat(earliest.err()).contains("connection refused");
    }

    @Test
    void under_zipf_popularity_a_small_hot_set_of_the_latest_active_conversations_takes_most_picks() {
        long[][] rows = new long[1000][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new long[] {i + 1, i + 1, 1, 1_000_000 + i, 1}; // conversation i+1 last active at 1,000,000 + i
        }
        var zipf = Population.of(rows, 0, Population.Popularity.parse("zipf"));
        var bySize = Population.of(rows, 0, Population.Popularity.BY_SIZE);
        var random = new java.util.SplittableRandom(3);
        int hotByZipf = 0;
        int hotBySize = 0;
        int latest = 0;
        for (int i = 0; i < 100_000; i++) {
            long picked = zipf.pick(random).conversationId();
            hotByZipf += picked > 990 ? 1 : 0; // the 1 % most recently active
            latest += picked == 1000 ? 1 : 0;
            hotBySize += bySize.pick(random).conversationId() > 990 ? 1 : 0;
        }

        assertThat(hotByZipf).as("the hot 1 %% of conversations").isGreaterThan(35_000);
        assertThat(latest).as("the latest active is the hottest").isGreaterThan(10_000);
        assertThat(hotBySize).as("all the same size: no hot set").isLessThan(2_000);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> Population.Popularity.parse("pareto")))
                .hasMessageContaining("size, zipf or zipf:EXPONENT");
    }

    @Test
    void cache_counts_come_from_the_prometheus_counters_and_are_reported_per_cache_and_operation() {
        String before = """
                # HELP parley_cache_requests_total Cache lookups
                # TYPE parley_cache_requests_total counter
                parley_cache_requests_total{cache="history",result="hit"} 10.0
                parley_cache_requests_total{cache="history",result="miss"} 5.0
                parley_cache_requests_total{result="hit",cache="inbox"} 1.0
                parley_http_request_seconds_count{method="GET",route="/x",status="200"} 3
                """;
        String after = before.replace("} 10.0", "} 100.0").replace("\"miss\"} 5.0", "\"miss\"} 15.0")
                + "parley_cache_requests_total{cache=\"user\",result=\"miss\"} 4.0\n";
        CacheCounts measured = CacheCounts.fromPrometheus(after).since(CacheCounts.fromPrometheus(before));

        assertThat(measured.byCache()).containsEntry("history", new CacheCounts.Counts(90, 10))
                .containsEntry("inbox", new CacheCounts.Counts(0, 0)).containsEntry("user", new CacheCounts.Counts(0, 4));
        assertThat(CacheCounts.fromPrometheus("parley_http_request_seconds_count{} 3\n").isEmpty()).isTrue();

        var result = new Workload.Result("parley", java.util.Map.of(Operation.HISTORY, new org.HdrHistogram.Histogram(3)),
                java.util.Map.of(), java.util.Map.of(Operation.HISTORY, 1L), java.util.Map.of(), java.util.Map.of(),
                Duration.ofSeconds(1), measured, null, null, null);
        result.latencies().get(Operation.HISTORY).recordValue(1000);
        var machine = new Machine(2, "test", 1024, "test", "test", "none");
        var report = new Report(new Report.Context("2026-12-01", "test", "none", machine, "history", 1, "1s", "0s",
                "closed loop"), List.of(result));

        assertThat(report.rows().getFirst().cacheHitRate()).isEqualTo(0.9);
        assertThat(report.text()).contains("90.0 %").contains("parley caches: history 90.0 % of 100, inbox 0.0 % of 0, user 0.0 % of 4");
        assertThat(report.markdown()).contains("| 90.0 % |").contains("- parley caches (measured period): history 90.0 %");
    }

    @Test
    void appended_messages_read_like_the_datasets_user_turns_so_searches_after_an_append_run_measure_the_dataset() {
        int texts = 5_000;
        var lengths = new TreeSet<Integer>();
        var containing = new HashMap<String, Integer>();
        for (int n = 1; n <= texts; n++) {
            String text = Target.messageText(n);
            assertThat(Target.messageText(n)).as("every target appends the same text").isEqualTo(text);
            var words = List.of(text.toLowerCase(Locale.ROOT).split("[^a-z]+"));
            lengths.add(words.size());
            for (String term : Population.TERMS) {
                if (words.stream().anyMatch(word -> word.startsWith(term))) { // "stars" matches a search for star
                    containing.merge(term, 1, Integer::sum);
                }
            }
        }
        // In the dataset a word of the search mix is in about one message in fifty (TextGenerator); a fixed sentence
        // had "stars" in all of them.
        containing.forEach((term, count) -> assertThat(count).as(term).isLessThan(texts / 10));
        assertThat(lengths.size()).as("lengths drawn, not one sentence").isGreaterThan(10);
    }

    @Test
    void the_same_seed_and_day_give_the_same_dataset() {
        var spec = DatasetSpec.of(5_000, null, null, null, null, 32, 3, 9, DAY);
        String first = fingerprint("parley_bench_a", spec);
        String second = fingerprint("parley_bench_b", spec);

        assertThat(first).isEqualTo(second);
        assertThat(fingerprint("parley_bench_c", DatasetSpec.of(5_000, null, null, null, null, 32, 3, 10, DAY))).isNotEqualTo(first);
    }

    @Test
    void the_dataset_is_skewed_spread_over_months_and_consistent() {
        var target = TestDatabase.get().migrated("parley_bench_shape");
        try (Database db = TestDatabase.pool(target, 2)) {
            var spec = DatasetSpec.of(30_000, null, null, null, null, 32, 6, 42, DAY);
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(spec);
            long messages = count(db, "SELECT count(*) FROM messages");
            long partitions = count(db, "SELECT count(DISTINCT tableoid) FROM messages");
            long topUserConversations = count(db, "SELECT max(n) FROM (SELECT count(*) n FROM conversations GROUP BY user_id) t");
            long inconsistent = count(db, """
                    SELECT count(*) FROM conversations c
                     WHERE c.last_seq <> (SELECT count(*) FROM messages m WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id)
                        OR c.last_message_id <> (SELECT max(message_id) FROM messages m WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id)
                        OR c.conversation_id >= (SELECT min(message_id) FROM messages m WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id)""");

            assertThat(messages).isEqualTo(30_000);
            assertThat(partitions).as("history spread over monthly partitions").isGreaterThanOrEqualTo(6);
            assertThat(topUserConversations).as("a few users carry most conversations")
                    .isGreaterThan(10L * spec.conversations() / spec.users());
            assertThat(inconsistent).as("conversation pointers agree with their messages").isZero();
            assertThat(count(db, """
                    SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
                     WHERE i.inhparent = 'messages_words_idx'::regclass AND NOT coalesce('fastupdate=off' = ANY (c.reloptions), false)"""))
                    .as("the words indexes write through again after the load").isZero();
            assertMemoriesCluster(db, spec);
        }
    }

    @Test
    void a_load_refuses_a_database_that_holds_another_apps_chats_and_leaves_them_as_they_were() {
        var spec = DatasetSpec.of(2_000, null, null, null, null, 16, 12, 42, DAY);
        var target = TestDatabase.get().migrated("parley_bench_occupied");
        try (Database db = TestDatabase.pool(target, 4)) {
            var loader = new DatasetLoader(db, new PrintWriter(new StringWriter()));
            loader.load(spec);
            db.read(handle -> handle.execute(new Query("test.rename", "UPDATE apps SET name = 'production' WHERE name = 'bench'")));

            assertThatThrownBy(() -> loader.load(spec, Period.ofMonths(6), true)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already holds chat data (1 of its apps: production)");
            assertThat(count(db, "SELECT count(*) FROM messages")).as("production's months, hot as they were").isEqualTo(2_000);
            assertThat(new Partitions(db).listArchived()).isEmpty();
            assertThat(count(db, "SELECT count(*) FROM apps WHERE name = 'bench'")).as("nothing of a second dataset").isZero();
        }
    }

    @Test
    void with_an_archive_age_the_old_months_load_into_the_archive_as_parley_archive_leaves_them() {
        var spec = DatasetSpec.of(8_000, null, null, null, null, 16, 12, 42, DAY);
        String plain = fingerprint("parley_bench_unarchived", spec, "messages");
        var target = TestDatabase.get().migrated("parley_bench_archived");
        try (Database db = TestDatabase.pool(target, 4)) {
            var loaded = new DatasetLoader(db, new PrintWriter(new StringWriter())).load(spec, Period.ofMonths(6), true);

            var partitions = new Partitions(db);
            assertThat(partitions.listArchived()).extracting(Partitions.Partition::name).containsExactly(
                    "messages_y2025m11", "messages_y2025m12", "messages_y2026m01", "messages_y2026m02", "messages_y2026m03",
                    "messages_y2026m04");
            assertThat(new Archive(db, db, partitions, Clock.fixed(DAY, ZoneOffset.UTC)).due(Period.ofMonths(6)))
                    .as("nothing left for 'parley archive --older-than 6mo' to move").isEmpty();
            long limit = Ids.floorOf(Instant.parse("2026-05-01T00:00:00Z")); // the first month that ends after 2026-05-20
            assertThat(count(db, "SELECT count(*) FROM parley_archive.messages")).isPositive();
            assertThat(count(db, "SELECT count(*) FROM messages WHERE message_id < " + limit)).as("no old month left hot").isZero();
            assertThat(count(db, "SELECT count(*) FROM parley_archive.messages WHERE message_id >= " + limit)).isZero();
            assertThat(count(db, """
                    SELECT count(*) FROM pg_index WHERE indexrelid = 'parley_archive.messages_words_idx'::regclass AND indisvalid"""))
                    .as("the archive's words index is whole again").isOne();
            assertThat(count(db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'parley_archive.messages_words_idx'::regclass"))
                    .as("every archived month has its words index").isEqualTo(6);
            assertThat(fingerprint(db, """
                    (SELECT conversation_id, message_id, role, content, metadata FROM messages
                     UNION ALL SELECT conversation_id, message_id, role, content, metadata FROM parley_archive.messages) m"""))
                    .as("the same rows as the same dataset loaded hot").isEqualTo(plain);
            assertThat(Population.load(db, loaded.appId(), Population.Popularity.BY_SIZE, Instant.parse("2026-05-01T00:00:00Z")).size())
                    .as("--active-within: the conversations with a message in the hot months, and no others")
                    .isEqualTo(count(db, "SELECT count(*) FROM conversations WHERE last_message_id >= " + limit))
                    .isLessThan(Population.load(db, loaded.appId(), Population.Popularity.BY_SIZE).size());
        }
    }

    @Test
    void with_the_archives_words_unindexed_its_index_stays_invalid_with_no_month_attached() {
        var target = TestDatabase.get().migrated("parley_bench_archived_unindexed");
        try (Database db = TestDatabase.pool(target, 4)) {
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(
                    DatasetSpec.of(3_000, null, null, null, null, 16, 12, 42, DAY), Period.ofMonths(6), false);

            assertThat(count(db, "SELECT count(*) FROM parley_archive.messages")).isPositive();
            assertThat(count(db, """
                    SELECT count(*) FROM pg_index WHERE indexrelid = 'parley_archive.messages_words_idx'::regclass AND NOT indisvalid"""))
                    .as("the archive's words index is there, and invalid").isOne();
            assertThat(count(db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'parley_archive.messages_words_idx'::regclass"))
                    .as("no archived month has its words indexed").isZero();
        }
    }

    /** Every memory has an embedding of the spec's length and a scope row; a memory's neighbours share its topic. */
    private static void assertMemoriesCluster(Database db, DatasetSpec spec) {
        long memories = count(db, "SELECT count(*) FROM memories");
        long wrongLength = count(db, "SELECT count(*) FROM memories WHERE octet_length(embedding) <> 4 * " + spec.dims());
        long unscoped = count(db, """
                SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM memory_scopes s
                 WHERE s.app_id = m.app_id AND s.user_id = m.user_id AND s.character_id = m.character_id)""");
        long[] largest = db.read(handle -> handle.first(new Query("test.largest_scope", """
                SELECT app_id, user_id, character_id, min(memory_id) FROM memories
                 GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1"""),
                r -> new long[] {r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)})).orElseThrow();
        byte[] first = db.read(handle -> handle.first(new Query("test.embedding", "SELECT embedding FROM memories WHERE memory_id = ?"),
                r -> r.getBytes(1), largest[3])).orElseThrow();
        float[] query = new float[spec.dims()];
        java.nio.ByteBuffer.wrap(first).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(query);
        var recalled = new Recall(db, Clock.systemUTC(), 1 << 20, new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
                .recall(largest[0], largest[1], largest[2], RecallRequest.of(query, 10), "embedding");

        assertThat(memories).isEqualTo(spec.memories());
        assertThat(wrongLength).isZero();
        assertThat(unscoped).isZero();
        assertThat(recalled.memories().getFirst().memory().id()).isEqualTo(largest[3]);
        assertThat(recalled.memories()).as("memories on the same topic stand out from the scope's others").hasSizeGreaterThan(1);
        assertThat(recalled.memories().get(1).similarity()).isGreaterThan(0.4);
    }

    @Test
    void counts_and_durations_parse_the_way_the_command_line_writes_them() {
        assertThat(DatasetSpec.count("--messages", "10M")).isEqualTo(10_000_000);
        assertThat(DatasetSpec.count("--messages", "250k")).isEqualTo(250_000);
        assertThat(DatasetSpec.count("--messages", "1.5M")).isEqualTo(1_500_000);
        assertThat(DatasetSpec.human(118_155)).isEqualTo("118.2k");
        assertThat(DatasetSpec.human(10_000_000)).isEqualTo("10M");
        assertThat(dev.parley.config.Durations.parse("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(dev.parley.config.Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    }

    private static Report.Row row(Report report, Operation op, String target) {
        return report.rows().stream().filter(r -> r.operation() == op && r.target().equals(target)).findFirst().orElseThrow();
    }

    private static String fingerprint(String database, DatasetSpec spec) {
        return fingerprint(database, spec, "messages");
    }

    private static String fingerprint(String database, DatasetSpec spec, String messages) {
        var target = TestDatabase.get().migrated(database);
        try (Database db = TestDatabase.pool(target, 2)) {
            new DatasetLoader(db, new PrintWriter(new StringWriter())).load(spec);
            return fingerprint(db, messages);
        }
    }

    /** The dataset's rows, with its messages read from {@code messages}. */
    private static String fingerprint(Database db, String messages) {
        return db.read(handle -> handle.first(new Query("test.fingerprint", """
                    SELECT md5(string_agg(conversation_id || ':' || message_id || ':' || role || ':' || content
                                          || coalesce(metadata::text, ''), ',' ORDER BY conversation_id, message_id))
                           || (SELECT md5(string_agg(user_id || ':' || character_id || ':' || message_count, ',' ORDER BY conversation_id))
                                 FROM conversations)
                           || (SELECT md5(string_agg(user_id || ':' || character_id || ':' || content || ':' || md5(embedding),
                                                     ',' ORDER BY memory_id)) FROM memories)
                      FROM %s""".formatted(messages)), r -> r.getString(1))).orElseThrow();
    }

    private static long count(Database db, String sql) {
        return db.read(handle -> handle.first(new Query("test.count", sql), r -> r.getLong(1))).orElseThrow();
    }

    @Test
    void a_database_flag_before_the_subcommand_is_the_one_it_loads_into() throws Exception {
        TestDatabase.get().fresh("parley_bench_flag_first");
        String url = TestDatabase.get().url("parley_bench_flag_first");

        var loaded = dev.parley.support.Cli.parley("bench", "--database-url", url, "load", "--messages", "2000", "--dims", "16",
                "--months", "2");
        var both = dev.parley.support.Cli.parley("bench", "--database-url", url, "load", "--messages", "2000",
                "--database-url", url);

        assertThat(loaded.status()).as(loaded.err()).isZero();
        try (var sql = TestDatabase.get().connect("parley_bench_flag_first");
             var rows = sql.createStatement().executeQuery("SELECT count(*) FROM messages")) {
            rows.next();
            assertThat(rows.getLong(1)).isEqualTo(2000);
        }
        assertThat(both.status()).as(both.err()).isEqualTo(2);
        assertThat(both.err()).contains("'--database-url' should be specified only once, before or after the subcommand");
    }

    @Test
    void bench_import_writes_the_same_history_by_copy_and_by_import_and_reports_both_rates() throws Exception {
        TestDatabase.get().fresh("parley_bench_import");
        String url = TestDatabase.get().url("parley_bench_import");

        var run = dev.parley.support.Cli.parley("bench", "import", "--messages", "2000", "--conversations", "20", "--bulk",
                "--database-url", url);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).containsPattern("raw COPY of 2000 message rows: [0-9.]+ s, [0-9]+ rows/s")
                .containsPattern("import of 2022 lines \\(2000 messages, 0 rejected\\)")
                .containsPattern("import --bulk: [0-9]+ messages/s, raw COPY: [0-9]+ rows/s, [0-9.]+x");
        try (var sql = TestDatabase.get().connect("parley_bench_import");
             var rows = sql.createStatement().executeQuery("""
                     SELECT a.name, count(*), count(DISTINCT m.conversation_id) FROM messages m JOIN apps a USING (app_id)
                      GROUP BY a.name ORDER BY a.name""")) {
            for (String prefix : List.of("bench-copy-", "bench-import-")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getString(1)).startsWith(prefix);
                assertThat(rows.getLong(2)).isEqualTo(2000);
                assertThat(rows.getLong(3)).isEqualTo(20);
            }
            var pending = sql.createStatement().executeQuery("""
                    SELECT count(*) FROM pg_class WHERE relname LIKE 'messages_%words_idx' AND reloptions::text LIKE '%fastupdate=on%'""");
            pending.next();
            assertThat(pending.getLong(1)).as("the words indexes are put back").isZero();
        }
    }

    @Test
    void bench_import_shares_messages_that_do_not_divide_evenly_and_dates_them_all_in_the_past() throws Exception {
        TestDatabase.get().fresh("parley_bench_import_uneven");
        String url = TestDatabase.get().url("parley_bench_import_uneven");

        // 45 over 20: two each and five over. The last conversation used to take all seven left, dated up to 118 days ahead.
        var run = dev.parley.support.Cli.parley("bench", "import", "--messages", "45", "--conversations", "20", "--database-url", url);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("import of 67 lines (45 messages, 0 rejected)");
        try (var sql = TestDatabase.get().connect("parley_bench_import_uneven");
             var rows = sql.createStatement().executeQuery("""
                     SELECT a.name, min(n), max(n), bool_and(newest < now()) FROM apps a JOIN (
                            SELECT app_id, count(*) AS n, max(created_at) AS newest FROM messages GROUP BY app_id, conversation_id) c
                            USING (app_id)
                      WHERE a.name LIKE 'bench-%' GROUP BY a.name ORDER BY a.name""")) {
            for (String prefix : List.of("bench-copy-", "bench-import-")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getString(1)).startsWith(prefix);
                assertThat(rows.getLong(2)).as("fewest in a conversation").isEqualTo(2);
                assertThat(rows.getLong(3)).as("most in a conversation").isEqualTo(3);
                assertThat(rows.getBoolean(4)).as("every message dated before now").isTrue();
            }
        }
    }

    @Test
    void bench_import_history_lies_within_its_window_on_any_date() {
        for (String now : List.of("2027-01-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-12-31T23:59:59Z")) {
            Instant start = Instant.parse(now).minus(Duration.ofDays(60));
            for (long messages : List.of(7L, 4002L, 5000L, 20_000L)) {
                var history = ImportBench.history(messages, 2000, start);
                assertThat(history).hasSize((int) messages);
                assertThat(history.stream().map(m -> Instant.parse(m[3])).toList()).as("%d messages, 60 days before %s", messages, now)
                        .allSatisfy(at -> assertThat(at).isAfter(start).isBefore(start.plus(Duration.ofDays(59)).plusSeconds(2)));
            }
        }
    }

    @Test
    void bench_import_fails_naming_the_rejected_lines_rather_than_comparing_different_work() throws Exception {
        var target = TestDatabase.get().migrated("parley_bench_import_rejects");
        var out = new StringWriter();
        try (Database db = TestDatabase.pool(target, 4)) {
            // Content of at most 8 bytes: the import refuses most messages the raw COPY writes.
            var bench = new ImportBench(db, new PrintWriter(out, true), Clock.systemUTC());

            assertThatThrownBy(() -> bench.run(40, 4, new dev.parley.chat.Limits(8, 1024), false))
                    .hasMessageContaining("the import rejected")
                    .hasMessageContaining("of its 46 lines")
                    .hasMessageMatching("(?s).*: line [0-9]+: .*");
        }
    }

    /** A target named {@code name} whose every session is {@code session}. */
    private static Target target(String name, Target.Session session) {
        return new Target() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Session session() {
                return session;
            }
        };
    }
}
