package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.db.LocalPostgres;
import dev.parley.db.Replicas;
import dev.parley.db.Standby;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Read replicas against a real streaming standby of a primary of the test's own: a read with the token a
 * write answered with sees that write; a standby whose replay is paused falls out of rotation and the
 * primary serves; a stopped standby is skipped within a second and used again once it is back; the
 * metrics say which server served the reads and how far behind the standby is.
 */
class ReplicasTest {
    private static final String HEADER = "Parley-Consistency";
    /** The watch's probe (a second apart, given up after 3 s of silence) and room for a loaded two-core machine. */
    private static final Duration SILENT_CUT_BOUND = Duration.ofSeconds(20);
    private static LocalPostgres primary;
    private static Standby standby;
    private static Parley parley;
    private static Api api;
    private static String conversation;

    @BeforeAll
    static void primaryStandbyAndParley() throws Exception {
        Path dir = Files.createTempDirectory("parley-replicas");
        primary = LocalPostgres.startTemporary(dir.resolve("primary"), Map.of());
        standby = Standby.of(primary.target(), dir.resolve("standby"));
        parley = TestServer.startOn(primary.target(), Map.of(
                "PARLEY_REPLICA_URLS", standby.target(LocalPostgres.DATABASE).jdbcUrl(),
                "PARLEY_REPLICA_MAX_LAG", "1s",
                "PARLEY_REPLICA_WAIT", "100ms",
                "PARLEY_REPLICA_SAMPLE", "50ms",
                "PARLEY_ADMIN_SAMPLE", "100ms"));
        api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("replicated").apiKey());
        String user = Fixtures.user(api, "reader");
        conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        awaitRotation(true);
    }

    @AfterAll
    static void stop() {
        if (parley != null) {
            parley.close();
        }
        if (standby != null) {
            standby.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    @Test
    void aReadWithTheTokenAWriteAnsweredWithSeesThatWrite() {
        for (int i = 0; i < 20; i++) {
            var written = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "note " + i));
            assertThat(written.status()).isEqualTo(201);
            String token = written.header(HEADER);
            assertThat(token).matches("[0-9A-F]+/[0-9A-F]+");
            // A filtered page is never cached: the replica (or, if it is not there yet, the primary) answers.
            JsonNode page = api.get("/v1/conversations/" + conversation + "/messages?role=user&limit=1", HEADER, token).json();
            assertThat(page.get("messages").get(0).get("content").asText()).isEqualTo("note " + i);
        }
        assertThat(reads("replica")).as("reads the standby served").isPositive();
    }

    @Test
    void aTokenWithASignIsRefusedAsMalformed() {
        for (String token : new String[] {"-1/-1", "+0/+5", "0/-5"}) {
            var answer = api.get("/v1/conversations/" + conversation + "/messages?limit=1", HEADER, token);
            assertThat(answer.status()).as(token + ": " + answer).isEqualTo(400);
            assertThat(answer.json().get("type").asText()).endsWith("/bad-consistency-token");
        }
    }

    @Test
    void aStandbyThatStopsReplayingIsBypassedAndTheTokenStillHolds() {
        standby.pauseReplay();
        try {
            var written = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "while paused"));
            // The standby cannot replay it: the read waits out PARLEY_REPLICA_WAIT and the primary answers.
            JsonNode page = api.get("/v1/conversations/" + conversation + "/messages?role=user&limit=1", HEADER,
                    written.header(HEADER)).json();
            assertThat(page.get("messages").get(0).get("content").asText()).isEqualTo("while paused");
            awaitRotation(false); // past PARLEY_REPLICA_MAX_LAG
            double replicaReads = reads("replica");
            for (int i = 0; i < 5; i++) { // without a token: the primary, since the standby lags too far
                assertThat(api.get("/v1/conversations/" + conversation + "/messages?role=user&limit=1").json()
                        .get("messages").get(0).get("content").asText()).isEqualTo("while paused");
            }
            assertThat(reads("replica")).isEqualTo(replicaReads);
        } finally {
            standby.resumeReplay();
        }
        awaitRotation(true);
    }

    @Test
    void aCachedPageIsLoadedFromThePrimaryNeverFromALaggingStandby() {
        api.get("/v1/conversations/" + conversation + "/messages?limit=5"); // cached now
        standby.pauseReplay(); // in rotation still, for up to PARLEY_REPLICA_MAX_LAG: a read without a token may go there
        try {
            api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "fresh"));
            // The write dropped the cached page; the page loaded again is kept for minutes, so it must be the primary's.
            JsonNode latest = api.getOk("/v1/conversations/" + conversation + "/messages?limit=5").get("messages");
            assertThat(latest.get(latest.size() - 1).get("content").asText()).isEqualTo("fresh");
        } finally {
            standby.resumeReplay();
        }
        awaitRotation(true);
    }

    @Test
    void aStoppedStandbyIsSkippedAndUsedAgainWhenItIsBack() {
        standby.stop();
        try {
            awaitRotation(false);
            for (int i = 0; i < 5; i++) {
                assertThat(api.get("/v1/users/" + userOf() + "/stats").status()).isEqualTo(200);
            }
        } finally {
            standby.start();
        }
        awaitRotation(true);
        double before = reads("replica");
        Wait.until("the standby serves reads again", Duration.ofSeconds(5), () -> {
            api.get("/v1/conversations/" + conversation + "/messages?role=user&limit=1");
            return reads("replica") > before;
        });
    }

    /**
     * A standby that goes silent (a black-holed connection, a paused server) holds the reads in flight on it: its
     * watch finds it silent and cuts them, and the primary answers them, well before the silence ends.
     */
    @Test
    void aReadInFlightOnAStandbyThatGoesSilentIsAnsweredByThePrimaryWithinSeconds() throws Exception {
        try (var line = RoundTrips.to(standby.target(LocalPostgres.DATABASE));
             Parley second = TestServer.startOn(primary.target(), Map.of("PARLEY_REPLICA_URLS", line.target().jdbcUrl(),
                     "PARLEY_REPLICA_MAX_LAG", "1s", "PARLEY_REPLICA_WAIT", "100ms", "PARLEY_REPLICA_SAMPLE", "50ms"))) {
            var other = new Api("http://127.0.0.1:" + second.port(), second.apps().create("silent-standby").apiKey());
            String chat = Fixtures.conversation(other).get("id").asText();
            Fixtures.say(other, chat, "user", "hello");
            Wait.until("the standby in the second instance's rotation", Duration.ofSeconds(10), () ->
                    TestServer.metrics(second).lines().anyMatch(l -> l.startsWith("parley_replica_in_rotation{") && l.endsWith(" 1.0")));
            String page = "/v1/conversations/" + chat + "/messages?role=user&limit=3"; // never read yet: not cached

            line.stall();
            try {
                var read = CompletableFuture.supplyAsync(() -> other.get(page));
                Api.Response answer = read.get(SILENT_CUT_BOUND.toSeconds(), TimeUnit.SECONDS);
                assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
            } catch (TimeoutException e) {
                throw new AssertionError("the read waited on the silent standby", e);
            } finally {
                line.resume();
            }
        }
    }

    /**
     * Recall and context are reads sent as POSTs: recall honours the token a memory's write answered with, context reads
     * its memories from the primary as the rest of it, and neither answers a token of its own, since it writes nothing.
     * Without the cache (PARLEY_CACHE_SIZE=0), where recall reads a replica.
     */
    @Test
    void recallAndContextSeeTheMemoryJustStoredAndAnswerNoToken() {
        try (Parley second = anHourBehindAllowed(Map.of("PARLEY_CACHE_SIZE", "0"))) {
            var other = new Api("http://127.0.0.1:" + second.port(), second.apps().create("recall-after-write").apiKey());
            String character = Fixtures.character(other, "Mira");
            String user = Fixtures.user(other, "remembered");
            String chat = Fixtures.conversation(other, user, character);
            String memories = "/v1/users/" + user + "/memories";
            other.postOk(201, memories, Map.of("character_id", character, "content", "plays chess", "embedding", List.of(0.8, 0.6)));
            Wait.until("the standby in the second instance's rotation, with the first memory", Duration.ofSeconds(10), () ->
                    TestServer.metrics(second).lines().anyMatch(l -> l.startsWith("parley_replica_in_rotation{") && l.endsWith(" 1.0"))
                    && standbyHolds("SELECT count(*) FROM memories WHERE content = 'plays chess'"));
            String stranger = Fixtures.character(other, "Nox"); // none of the user's memories are Nox's
            Wait.until("Nox on the standby", Duration.ofSeconds(10), () -> standbyHolds("SELECT count(*) FROM characters WHERE name = 'Nox'"));
            var logged = new ListAppender<ILoggingEvent>();
            var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
            logged.start();
            logger.addAppender(logged);
            try {
                var none = other.post(memories + "/recall", Map.of("character_id", stranger, "embedding", List.of(1.0, 0.0)));
                assertThat(none.status()).as(none.toString()).isEqualTo(200);
                assertThat(none.json().get("considered").asInt()).isZero();
            } finally {
                logger.detachAppender(logged);
            }
            assertThat(logged.list).map(ILoggingEvent::getFormattedMessage).as("a recall of a scope without memories only reads")
                    .noneMatch(line -> line.contains("failed a read"));
            standby.pauseReplay(); // in rotation still, within the hour's bound: a read without a token may go there
            try {
                var stored = other.post(memories, Map.of("character_id", character, "content", "likes tea",
                        "embedding", List.of(1.0, 0.0)));
                assertThat(stored.status()).isEqualTo(201);

                var recalled = other.post(memories + "/recall", Map.of("character_id", character, "embedding", List.of(1.0, 0.0)),
                        HEADER, stored.header(HEADER));
                var context = other.post("/v1/conversations/" + chat + "/context", Map.of("memory_embedding", List.of(1.0, 0.0)));

                assertThat(recalled.status()).as(recalled.toString()).isEqualTo(200);
                assertThat(recalled.json().get("memories").findValuesAsText("content")).containsExactly("likes tea", "plays chess");
                assertThat(recalled.header(HEADER)).as("a token from a read").isNull();
                assertThat(context.status()).as(context.toString()).isEqualTo(200);
                assertThat(context.json().get("memories").findValuesAsText("content")).containsExactly("likes tea", "plays chess");
                assertThat(context.header(HEADER)).as("a token from a read").isNull();
            } finally {
                standby.resumeReplay();
            }
        }
        awaitRotation(true);
    }

    /**
     * The latest history page and the first inbox page are the primary's (cache fills); the pages after their cursors
     * are read from a lagging standby only once it holds what those pages showed: paging back from the newest message
     * skips none, and the inbox lists a conversation moved up by a new message once, though its cursor is older.
     */
    @Test
    void pagingOnFromAFreshFirstPageOntoALaggingStandbySkipsAndRepeatsNothing() {
        try (Parley second = anHourBehindAllowed(Map.of())) {
            var other = new Api("http://127.0.0.1:" + second.port(), second.apps().create("paging-on").apiKey());
            String character = Fixtures.character(other, "Pax");
            String user = Fixtures.user(other, "pager");
            String moved = Fixtures.conversation(other, user, character);
            Fixtures.conversation(other, user, character);
            String newest = Fixtures.conversation(other, user, character);
            for (int i = 1; i <= 3; i++) {
                Fixtures.say(other, moved, "user", "before " + i);
            }
            Fixtures.say(other, newest, "user", "newest"); // the inbox: newest, moved, the third
            Wait.until("the standby in the second instance's rotation, with the messages", Duration.ofSeconds(10), () ->
                    TestServer.metrics(second).lines().anyMatch(l -> l.startsWith("parley_replica_in_rotation{") && l.endsWith(" 1.0"))
                    && standbyHolds("SELECT count(*) FROM messages WHERE content = 'newest'"));
            standby.pauseReplay(); // in rotation still, within the hour's bound
            try {
                for (int i = 1; i <= 3; i++) {
                    Fixtures.say(other, moved, "assistant", "while paused " + i); // moves it to the top of the inbox
                }
                List<String> history = new java.util.ArrayList<>();
                String path = "/v1/conversations/" + moved + "/messages?limit=1";
                JsonNode page = other.getOk(path);
                while (true) {
                    history.addAll(0, page.get("messages").findValuesAsText("content"));
                    if (!page.get("has_older").asBoolean()) {
                        break;
                    }
                    page = other.getOk(path + "&before=" + page.get("older_cursor").asText());
                }
                List<String> inbox = new java.util.ArrayList<>();
                String pages = "/v1/users/" + user + "/inbox?limit=2";
                JsonNode listed = other.getOk(pages);
                while (true) {
                    inbox.addAll(listed.get("conversations").findValuesAsText("conversation_id"));
                    if (listed.get("next_cursor").isNull()) {
                        break;
                    }
                    listed = other.getOk(pages + "&cursor=" + listed.get("next_cursor").asText());
                }

                assertThat(history).endsWith("before 1", "before 2", "before 3", "while paused 1", "while paused 2", "while paused 3");
                assertThat(inbox).as("the inbox, paged").startsWith(moved, newest).doesNotHaveDuplicates().hasSize(3);
            } finally {
                standby.resumeReplay();
            }
        }
        awaitRotation(true);
    }

    /** A conversation's totals and its counts by kind come from the one server: on a lagging standby they agree. */
    @Test
    void aConversationsStatsAreReadFromOneServerSoTheirCountsAgree() {
        try (Parley second = anHourBehindAllowed(Map.of())) {
            var other = new Api("http://127.0.0.1:" + second.port(), second.apps().create("stats-agree").apiKey());
            String chat = Fixtures.conversation(other).get("id").asText();
            Fixtures.say(other, chat, "user", "first");
            Wait.until("the standby in the second instance's rotation, with the message", Duration.ofSeconds(10), () ->
                    TestServer.metrics(second).lines().anyMatch(l -> l.startsWith("parley_replica_in_rotation{") && l.endsWith(" 1.0"))
                    && standbyHolds("SELECT count(*) FROM messages WHERE content = 'first'"));
            standby.pauseReplay(); // in rotation still, within the hour's bound
            try {
                Fixtures.say(other, chat, "assistant", "while paused");

                JsonNode stats = other.getOk("/v1/conversations/" + chat + "/stats");

                long byRole = 0;
                for (JsonNode count : stats.get("by_role")) {
                    byRole += count.asLong();
                }
                assertThat(byRole).as("by_role of " + stats).isEqualTo(stats.get("message_count").asLong());
            } finally {
                standby.resumeReplay();
            }
        }
        awaitRotation(true);
    }

    /**
     * A replica URL the standby answers and refuses (a database it does not have, a role it does not know) is a setting
     * to mend, as DATABASE_URL's is: the start stops naming PARLEY_REPLICA_URLS and the replica, never its password.
     */
    @Test
    void aReplicaUrlTheStandbyRefusesStopsTheStartNamingTheSetting() {
        for (String url : new String[] {standby.target("no_such_database").jdbcUrl(),
                "postgres://no_such_role:s3cret@" + replicaName()}) {
            assertThatThrownBy(() -> TestServer.startOn(primary.target(), Map.of("PARLEY_REPLICA_URLS", url)).close())
                    .as(url).hasMessageContaining("read replica " + standbyAt()).hasMessageContaining("refuses PARLEY_REPLICA_URLS")
                    .hasMessageEndingWith("PARLEY_REPLICA_URLS").hasMessageNotContaining("s3cret");
        }
    }

    /**
     * A replica URL naming a standby's other database (here {@code postgres}, which has none of Parley's tables) is never
     * put in rotation: the reads it would serve answer from the primary, and the log says once why.
     */
    @Test
    void aStandbysDatabaseWithoutParleysSchemaIsNotInRotationAndItsReadsAreThePrimarys() {
        var logged = new ListAppender<ILoggingEvent>();
        var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
        logged.start();
        logger.addAppender(logged);
        try (Parley second = TestServer.startOn(primary.target(), Map.of("PARLEY_REPLICA_URLS", standby.target("postgres").jdbcUrl(),
                "PARLEY_REPLICA_MAX_LAG", "1s", "PARLEY_REPLICA_WAIT", "100ms", "PARLEY_REPLICA_SAMPLE", "50ms"))) {
            var other = new Api("http://127.0.0.1:" + second.port(), second.apps().create("wrong-database").apiKey());
            JsonNode chat = Fixtures.conversation(other);
            String id = chat.get("id").asText();
            Fixtures.say(other, id, "user", "hello there");
            Wait.until("the standby sampled", Duration.ofSeconds(10), () ->
                    TestServer.metrics(second).lines().anyMatch(l -> l.startsWith("parley_replica_standby{") && l.endsWith(" 1.0")));

            for (String read : new String[] {"/v1/search/messages?q=hello&conversation_id=" + id, "/v1/conversations/" + id + "/stats",
                    "/v1/users/" + chat.get("user_id").asText() + "/stats", "/v1/conversations/" + id + "/messages?role=user"}) {
                var answer = other.get(read);
                assertThat(answer.status()).as(read + ": " + answer).isEqualTo(200);
            }
            assertThat(TestServer.metrics(second)).contains("parley_replica_in_rotation{replica=\"127.0.0.1:")
                    .containsPattern("parley_replica_schema_current\\{replica=\"127.0.0.1:\\d+/postgres\"} 0.0");
            assertThat(logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
                    .filter(line -> line.startsWith("read replica " + standbyAt() + "/postgres ")))
                    .singleElement().asString().contains("not Parley's database").contains("no flyway_schema_history");
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void theMetricsShowTheLagOfEachReplicaAndTheReadsOfEachServer() {
        api.get("/v1/conversations/" + conversation + "/messages?role=user&limit=1");
        Wait.until("the primary's pg_stat_replication shows the standby", Duration.ofSeconds(5), () ->
                TestServer.metrics(parley).contains("parley_db_replica_lag_seconds{replica=\"" + standby.name() + "\"}"));
        String metrics = TestServer.metrics(parley);
        String replica = replicaName();
        assertThat(metrics).contains("parley_replica_lag_seconds{replica=\"" + replica + "\"}")
                .contains("parley_replica_in_rotation{replica=\"" + replica + "\"} 1.0")
                .contains("parley_db_reads_total{target=\"primary\"}")
                .contains("parley_db_reads_total{target=\"" + replica + "\"}")
                .contains("hikaricp_connections_max{pool=\"parley-replica-" + replica + "\"}");
    }

    /** Whether {@code count} counts a row on the standby. */
    /** A second Parley on the primary whose standby stays in rotation up to an hour behind (a paused one, say), with {@code more}. */
    private static Parley anHourBehindAllowed(Map<String, String> more) {
        var settings = new java.util.HashMap<>(Map.of("PARLEY_REPLICA_URLS", standby.target(LocalPostgres.DATABASE).jdbcUrl(),
                "PARLEY_REPLICA_MAX_LAG", "1h", "PARLEY_REPLICA_WAIT", "100ms", "PARLEY_REPLICA_SAMPLE", "50ms"));
        settings.putAll(more);
        return TestServer.startOn(primary.target(), settings);
    }

    private static boolean standbyHolds(String count) throws java.sql.SQLException {
        var target = standby.target(LocalPostgres.DATABASE);
        try (var connection = java.sql.DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password());
             var rows = connection.createStatement().executeQuery(count)) {
            return rows.next() && rows.getLong(1) > 0;
        }
    }

    /** The standby's Parley database as the replicas' metrics and log name it: its host, port and database. */
    private static String replicaName() {
        return standbyAt() + "/" + LocalPostgres.DATABASE;
    }

    /** The standby's host and port. */
    private static String standbyAt() {
        return "127.0.0.1:" + standby.target("x").jdbcUrl().replaceAll(".*:(\\d+)/.*", "$1");
    }

    private static String userOf() {
        return api.getOk("/v1/conversations/" + conversation).get("user_id").asText();
    }

    /** The reads served by the primary, or by the standby ("replica"), so far. */
    private static double reads(String target) {
        return TestServer.metrics(parley).lines()
                .filter(line -> line.startsWith("parley_db_reads_total{"))
                .filter(line -> target.equals("primary") == line.contains("target=\"primary\""))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    private static void awaitRotation(boolean in) {
        Wait.until("the standby " + (in ? "in" : "out of") + " rotation", Duration.ofSeconds(10), () ->
                TestServer.metrics(parley).lines().anyMatch(line -> line.startsWith("parley_replica_in_rotation{")
                        && line.endsWith(in ? " 1.0" : " 0.0")));
    }
}
