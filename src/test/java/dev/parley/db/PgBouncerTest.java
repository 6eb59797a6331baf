package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.cache.Invalidations;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestPgBouncer;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import dev.parley.support.Wait;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * Parley through a real PgBouncer in transaction mode (Debian's 1.18, which keeps no prepared statement
 * across transactions), set up as docs/operations.md "PgBouncer" says: the core routes answer as they do
 * straight to PostgreSQL while two instances' pools share four server connections, and a change through
 * one instance reaches the other's cache (LISTEN on the direct connection). Without PARLEY_PGBOUNCER the
 * same requests fail on prepared statements PgBouncer lost: the setting is what makes it work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PgBouncerTest {
    private static final String DATABASE = "parley_pgbouncer";
    /** The direct connections' application_name, so PostgreSQL tells them from PgBouncer's. */
    private static final String DIRECT = "parley-direct";
    private static final Duration BOUND = Duration.ofSeconds(1);

    TestPgBouncer bouncer;
    final List<Parley> instances = new ArrayList<>();
    Api viaFirst;
    Api viaSecond;

    @BeforeAll
    void start() {
        var program = Tools.require("pgbouncer", "pgbouncer");
        TestDatabase.get().migrated(DATABASE);
        bouncer = TestPgBouncer.start(program, DATABASE);
        String key = serving(env("transaction")).apps().create("through-pgbouncer").apiKey();
        serving(env("transaction"));
        viaFirst = new Api("http://127.0.0.1:" + instances.get(0).port(), key);
        viaSecond = new Api("http://127.0.0.1:" + instances.get(1).port(), key);
    }

    @AfterAll
    void stop() {
        instances.forEach(Parley::close);
        if (bouncer != null) {
            bouncer.close();
        }
    }

    /** The request pool through PgBouncer; LISTEN, migrations and the retention lock straight to PostgreSQL. */
    private Map<String, String> env(String pgbouncer) {
        return Map.of("DATABASE_URL", bouncer.url(), "PARLEY_DIRECT_DATABASE_URL", bouncer.directUrl() + "?ApplicationName=" + DIRECT,
                "PARLEY_PGBOUNCER", pgbouncer, "PARLEY_POOL_SIZE", "8");
    }

    private Parley serving(Map<String, String> env) {
        Parley parley = TestServer.serving(env);
        instances.add(parley);
        return parley;
    }

    @Test
    void the_core_routes_answer_through_pgbouncer_in_transaction_mode_on_fewer_server_connections_than_clients()
            throws SQLException {
        coreRoutes(viaFirst);
        coreRoutes(viaSecond);

        assertThat(serverConnectionsThroughPgBouncer()).as("server connections PgBouncer opened for 2 pools of 8")
                .isPositive().isLessThanOrEqualTo(TestPgBouncer.SERVER_CONNECTIONS);
    }

    @Test
    void a_change_through_one_instance_reaches_the_others_cache_over_its_direct_listen_connection() throws SQLException {
        String character = Fixtures.character(viaFirst, "Luna");
        String user = Fixtures.user(viaFirst, "listener-" + System.nanoTime());
        String conversation = "/v1/conversations/" + Fixtures.conversation(viaFirst, user, character);
        viaSecond.getOk(conversation); // now in the second instance's cache
        viaSecond.getOk("/v1/characters/" + character);

        viaFirst.patch(conversation, Map.of("state", Map.of("mood", "warm")));
        viaFirst.patch("/v1/characters/" + character, Map.of("name", "Nova"));

        seenOnSecond("the state", () -> viaSecond.getOk(conversation).get("state").path("mood").asText().equals("warm"));
        seenOnSecond("the name", () -> viaSecond.getOk("/v1/characters/" + character).get("name").asText().equals("Nova"));
        assertThat(listeners()).as("the sessions that LISTEN, by application_name").hasSizeGreaterThanOrEqualTo(2)
                .containsOnly(DIRECT);
    }

    @Test
    void a_row_lock_held_past_the_budget_pgbouncer_sets_on_its_server_connections_answers_503_database_busy() throws Exception {
        String conversation = Fixtures.conversation(viaFirst).get("id").asText();
        try (var holder = TestDatabase.get().connect(DATABASE)) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT 1 FROM conversations WHERE conversation_id = " + conversation + " FOR UPDATE");
            var patch = java.util.concurrent.CompletableFuture.supplyAsync(() -> viaFirst.patch("/v1/conversations/" + conversation,
                    Map.of("state", Map.of("mood", "calm"))));
            try {
                // Parley sets no lock_timeout through PgBouncer; its connect_query did, on the server connection.
                Api.Response answer = patch.get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(answer.status()).as(answer.toString()).isEqualTo(503);
                assertThat(answer.json().get("type").asText()).endsWith("/database-busy");
                assertThat(answer.json().get("detail").asText()).as("the budget that fired is PgBouncer's")
                        .contains("the lock_timeout its connect_query sets");
            } finally {
                holder.rollback();
            }
        }
        assertThat(viaFirst.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("mood", "calm"))).status())
                .isEqualTo(200);
    }

    /** Migrations need a session: through PgBouncer in transaction mode Flyway failed inside with a Java error alone. */
    @Test
    void migrations_through_pgbouncer_are_told_to_connect_to_postgresql_itself() {
        var url = dev.parley.config.DatabaseUrl.parse(bouncer.url(), null, "DATABASE_URL");
        var through = new org.postgresql.ds.PGSimpleDataSource();
        through.setURL(url.jdbcUrl());
        through.setUser(url.user());
        through.setPassword(url.password());

        assertThatThrownBy(() -> {
            var migrations = new Migrations(through);
            for (int round = 0; round < 5; round++) { // Flyway's statements reach their fifth run: pgjdbc names them
                migrations.requireCurrent();
                migrations.migrate();
            }
        }).hasMessageContaining("PgBouncer").hasMessageContaining("PARLEY_DIRECT_DATABASE_URL");
    }

    @Test
    void without_pgbouncer_transaction_mode_the_same_requests_fail_on_prepared_statements_pgbouncer_lost() {
        var failures = new ListAppender<ILoggingEvent>();
        var parley = (Logger) LoggerFactory.getLogger("dev.parley");
        failures.start();
        parley.addAppender(failures);
        try {
            Parley unprepared = serving(env("off"));
            String key = unprepared.apps().create("prepared-statements").apiKey();
            var api = new Api("http://127.0.0.1:" + unprepared.port(), key);

            assertThatThrownBy(() -> {
                for (int round = 0; round < 5; round++) { // pgjdbc prepares a statement on its fifth run
                    coreRoutes(api);
                }
            }).as("the core routes, five times, with pgjdbc's default prepareThreshold");
        } finally {
            parley.detachAppender(failures);
        }
        assertThat(failures.list).as("what failed").anySatisfy(event ->
                assertThat(causes(event.getThrowableProxy())).containsPattern("prepared statement \"S_\\d+\""));
    }

    /** Every route a chat app leans on, checked as the API tests check them. */
    private static void coreRoutes(Api api) {
        String character = Fixtures.character(api, "Luna");
        String user = Fixtures.user(api, "pgbouncer-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, character);
        String path = "/v1/conversations/" + conversation;

        var body = Map.of("role", "user", "content", "walking the dogs by the lighthouse");
        Api.Response first = api.post(path + "/messages", body, "Idempotency-Key", "walk-1");
        Api.Response retry = api.post(path + "/messages", body, "Idempotency-Key", "walk-1");
        assertThat(List.of(first.status(), retry.status())).as("append, then its retry").containsExactly(201, 200);
        assertThat(retry.json()).isEqualTo(first.json());
        var batch = Map.of("messages", List.of(Map.of("role", "assistant", "content", "which lighthouse?"),
                Map.of("role", "user", "content", "the red one")));
        Api.Response batched = api.post(path + "/messages/batch", batch, "Idempotency-Key", "batch-1");
        Api.Response batchRetry = api.post(path + "/messages/batch", batch, "Idempotency-Key", "batch-1");
        assertThat(List.of(batched.status(), batchRetry.status())).as("batch, then its retry").containsExactly(201, 200);
        String last = null;
        for (int i = 1; i <= 4; i++) {
            last = Fixtures.say(api, conversation, "assistant", "reply " + i).get("id").asText();
        }

        JsonNode latest = api.getOk(path + "/messages?limit=4");
        JsonNode older = api.getOk(path + "/messages?limit=4&before=" + latest.get("older_cursor").asText());
        assertThat(contents(latest)).containsExactly("reply 1", "reply 2", "reply 3", "reply 4");
        assertThat(contents(older)).containsExactly("walking the dogs by the lighthouse", "which lighthouse?", "the red one");
        assertThat(api.getOk("/v1/users/" + user + "/inbox").get("conversations").get(0).get("unread_count").asLong())
                .isEqualTo(4);

        JsonNode edited = api.patch(path + "/messages/" + last, Map.of("content", "reply 4, edited")).json();
        assertThat(edited.get("content").asText()).isEqualTo("reply 4, edited");
        JsonNode hits = api.getOk("/v1/search/messages?q=lighthouse&user_id=" + user).get("hits");
        assertThat(hits).hasSize(2);

        String memories = "/v1/users/" + user + "/memories";
        api.postOk(201, memories, Map.of("character_id", character, "content", "has two dogs", "embedding", List.of(1.0, 0.0)));
        api.postOk(201, memories, Map.of("character_id", character, "content", "plays the cello", "embedding", List.of(0.0, 1.0)));
        JsonNode recalled = api.postOk(200, memories + "/recall", Map.of("character_id", character, "embedding", List.of(0.9, 0.1),
                "limit", 1));
        assertThat(recalled.get("memories").findValuesAsText("content")).containsExactly("has two dogs");
        JsonNode context = api.postOk(200, path + "/context", Map.of("messages", 3, "memories", 1,
                "memory_embedding", List.of(0.1, 0.9)));
        assertThat(context.get("memories").findValuesAsText("content")).containsExactly("plays the cello");
        assertThat(context.get("messages")).isNotEmpty();

        api.postOk(200, path + "/read", Map.of("message_id", last));
        assertThat(api.getOk("/v1/users/" + user + "/inbox").get("conversations").get(0).get("unread_count").asLong()).isZero();

        String etag = api.get(path).header("ETag");
        assertThat(ifMatch(api, path, "first", etag).status()).as("PATCH with the current ETag").isEqualTo(200);
        assertThat(ifMatch(api, path, "second", etag).status()).as("PATCH with a stale ETag").isEqualTo(412);

        api.postOk(200, path + "/counters", Map.of("increments", Map.of("affection", 2)));
        JsonNode counted = api.postOk(200, path + "/counters?durable=true", Map.of("increments", Map.of("affection", 1)));
        assertThat(counted.get("counters").get("affection").asLong()).isEqualTo(3);
    }

    private static Api.Response ifMatch(Api api, String path, String writer, String etag) {
        byte[] body = ("{\"state\": {\"writer\": \"" + writer + "\"}}").getBytes(StandardCharsets.UTF_8);
        return api.sendBytes("PATCH", path, body, "If-Match", etag);
    }

    private static List<String> contents(JsonNode page) {
        return page.get("messages").findValuesAsText("content");
    }

    /** Backends of the database that are not Parley's direct connections: PgBouncer's server connections. */
    private static long serverConnectionsThroughPgBouncer() throws SQLException {
        try (var connection = TestDatabase.get().connect(DATABASE);
             var statement = connection.prepareStatement("""
                     SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND pid <> pg_backend_pid()
                        AND application_name IS DISTINCT FROM ?""")) {
            statement.setString(1, DIRECT);
            try (var rows = statement.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    /** The application_name of each session whose last statement was the listener's LISTEN. */
    private static List<String> listeners() throws SQLException {
        try (var connection = TestDatabase.get().connect(DATABASE);
             var statement = connection.prepareStatement("""
                     SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND query = ?""")) {
            statement.setString(1, "LISTEN " + Invalidations.CHANNEL);
            try (var rows = statement.executeQuery()) {
                List<String> names = new ArrayList<>();
                while (rows.next()) {
                    names.add(rows.getString(1));
                }
                return names;
            }
        }
    }

    private void seenOnSecond(String what, java.util.concurrent.Callable<Boolean> condition) {
        assertThat(Wait.until(what + " through the second instance", BOUND, condition)).as(what).isLessThan(BOUND);
    }

    /** The messages of a logged exception and of its causes, one a line. */
    private static String causes(IThrowableProxy thrown) {
        var messages = new StringBuilder();
        for (IThrowableProxy cause = thrown; cause != null; cause = cause.getCause()) {
            messages.append(cause.getMessage()).append('\n');
        }
        return messages.toString();
    }
}
