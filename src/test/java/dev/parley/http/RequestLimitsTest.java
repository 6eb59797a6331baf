package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A request's database work is bounded (PARLEY_LOCK_TIMEOUT, PARLEY_STATEMENT_TIMEOUT): a lock held by other work,
 * or a statement that runs too long, gets a 503 with Retry-After within seconds instead of holding the request and
 * its connection for as long as it lasts. The background pool runs without those limits. A server that stops
 * answering is cut once the watch finds it silent: requests in flight on it get a 503 within seconds too.
 */
class RequestLimitsTest {
    private static final String DB = "parley_request_limits";
    /** How long the lock holders hold, unless released sooner: far past any budget here. */
    private static final Duration HELD = Duration.ofSeconds(20);
    /** The lock budget (2 s by default) and room for a loaded two-core machine. */
    private static final Duration ANSWER_BOUND = Duration.ofSeconds(8);
    /** How long the line to PostgreSQL stays silent, unless the request in flight is answered sooner. */
    private static final Duration SILENCE = Duration.ofSeconds(35);
    /** The watch's probe (a second apart, given up after 3 s of silence) and room for a loaded two-core machine. */
    private static final Duration CUT_BOUND = Duration.ofSeconds(15);

    /** One request as a client saw it: what came back and how long it took. */
    private record Timed(Api.Response response, Duration took) {
    }

    @Test
    void a_row_lock_held_past_the_lock_budget_answers_appends_and_patches_503_at_once_and_they_succeed_once_it_is_released()
            throws Exception {
        try (Parley parley = TestServer.start(DB, Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("row-lock").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            String messages = "/v1/conversations/" + conversation + "/messages";

            try (Connection holder = holding(DB, "SELECT 1 FROM conversations WHERE conversation_id = " + conversation + " FOR UPDATE")) {
                Timed append = timed(() -> api.post(messages, Map.of("content", "while locked"), "Idempotency-Key", "locked-1"));
                Timed patch = timed(() -> api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("mood", "calm"))));

                assertBusy(append);
                assertBusy(patch);
                assertThat(append.response().json().get("detail").asText()).contains("PARLEY_LOCK_TIMEOUT");
                holder.rollback();
            }

            assertThat(api.getOk(messages).get("messages")).as("the refused append was not stored").isEmpty();
            assertThat(api.post(messages, Map.of("content", "while locked"), "Idempotency-Key", "locked-1").status()).isEqualTo(201);
            assertThat(api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("mood", "calm"))).status()).isEqualTo(200);
        }
    }

    @Test
    void an_import_into_a_conversation_locked_past_the_lock_budget_stops_with_503_and_its_rerun_imports_each_line_once()
            throws Exception {
        try (Parley parley = TestServer.start(DB, Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("import-lock").apiKey());
            List<String> people = List.of(
                    Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna")),
                    Json.write(Map.of("type", "user", "external_id", "ada")),
                    Json.write(Map.of("type", "conversation", "external_id", "chat", "user", "ada", "character", "luna",
                            "created_at", "2025-03-01T10:00:00Z")));
            List<String> history = new ArrayList<>(people);
            for (int i = 1; i <= 3; i++) {
                history.add(Json.write(Map.of("type", "message", "conversation", "chat", "external_id", "m" + i, "role", "user",
                        "content", "line " + i, "created_at", "2025-03-01T10:00:0" + i + "Z")));
            }
            assertThat(importing(api, people).status()).isEqualTo(200);
            String conversation = api.getOk("/v1/conversations?external_id=chat").get("conversations").get(0).get("id").asText();

            try (Connection holder = holding(DB, "SELECT 1 FROM conversations WHERE conversation_id = " + conversation + " FOR UPDATE")) {
                Timed refused = timed(() -> importing(api, history));

                assertBusy(refused); // not each line waiting out the budget in turn and reported as rejected
                holder.rollback();
            }

            JsonNode report = importing(api, history).json();
            assertThat(report.get("rejected").asLong()).isZero();
            assertThat(report.get("imported").get("messages").asLong()).isEqualTo(3);
            assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages").findValuesAsText("content"))
                    .containsExactly("line 1", "line 2", "line 3");
        }
    }

    @Test
    void a_statement_that_runs_past_the_statement_budget_is_cancelled_and_answered_503_at_once() throws Exception {
        String database = DB + "_slow";
        // A PATCH whose state asks for it takes 20 s: far past the budget, as a runaway query would.
        migratedWithSlowTrigger(database, "test_slow_patch", 20,
                "BEFORE UPDATE ON conversations FOR EACH ROW WHEN ((NEW.state -> 'slow') IS NOT NULL)");
        try (Parley parley = TestServer.alongside(database, Map.of("PARLEY_STATEMENT_TIMEOUT", "1s"))) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("slow").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();

            Timed slow = timed(() -> api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("slow", true))));

            assertBusy(slow);
            assertThat(slow.response().json().get("detail").asText()).contains("PARLEY_STATEMENT_TIMEOUT");
            assertThat(api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("quick", true))).status())
                    .isEqualTo(200);
            assertThat(api.getOk("/v1/conversations/" + conversation).get("state").has("slow")).as("rolled back").isFalse();
        }
    }

    @Test
    void a_table_lock_held_past_the_lock_budget_answers_a_read_503_at_once_and_it_succeeds_once_it_is_released() throws Exception {
        try (Parley parley = TestServer.start(DB, Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("table-lock").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            Fixtures.say(api, conversation, "user", "hello");
            String page = "/v1/conversations/" + conversation + "/messages?limit=7"; // never read yet: not cached

            try (Connection holder = holding(DB, "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")) {
                Timed read = timed(() -> api.get(page));

                assertBusy(read);
                holder.rollback();
            }

            assertThat(api.getOk(page).get("messages")).hasSize(1);
        }
    }

    @Test
    void a_read_in_flight_when_the_database_goes_silent_is_answered_503_within_seconds_and_reads_recover_by_themselves()
            throws Exception {
        String database = DB + "_silent_read";
        try (var line = RoundTrips.to(TestDatabase.get().migrated(database));
             Parley parley = TestServer.startOn(line.target(), Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("silent-read").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            Fixtures.say(api, conversation, "user", "hello");
            String page = "/v1/conversations/" + conversation + "/messages?limit=7"; // never read yet: not cached

            Timed read = answeredThroughSilence(line, database, "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE",
                    () -> api.get(page));

            assertThat(read.response().status()).as(read.response().toString()).isEqualTo(503);
            assertThat(read.response().isProblem()).isTrue();
            assertThat(read.response().json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(read.response().header("Retry-After")).isEqualTo("1");
            assertThat(read.took()).as("cut once the watch found the server silent, not when it spoke again")
                    .isLessThan(CUT_BOUND);
            Wait.until("reads to succeed again", Duration.ofSeconds(20), () -> api.get(page).status() == 200);
            assertThat(api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "after")).status())
                    .isEqualTo(201);
        }
    }

    @Test
    void an_append_whose_commit_goes_unanswered_is_not_confirmed_within_seconds_and_its_retry_replays_it() throws Exception {
        String database = DB + "_silent_append";
        try (var line = RoundTrips.to(TestDatabase.get().migrated(database));
             Parley parley = TestServer.startOn(line.target(), Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("silent-append").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            String messages = "/v1/conversations/" + conversation + "/messages";

            // The append's write, sent with its COMMIT, waits on the author's membership row (it marks it read); released
            // once the line is silent, PostgreSQL goes on and commits, and the answer is held.
            Timed append = answeredThroughSilence(line, database,
                    "SELECT 1 FROM conversation_members WHERE conversation_id = " + conversation + " FOR UPDATE",
                    () -> api.post(messages, Map.of("content", "unheard"), "Idempotency-Key", "unheard-1"));

            assertThat(append.response().status()).as("never a 201 for a commit nobody heard: " + append.response()).isEqualTo(503);
            assertThat(append.response().json().get("type").asText()).as(append.response().toString())
                    .endsWith("/append-not-confirmed");
            assertThat(append.took()).isLessThan(CUT_BOUND);
            Api.Response retry = Wait.forValue("the retry to be answered", Duration.ofSeconds(20), () -> java.util.Optional.of(
                    api.post(messages, Map.of("content", "unheard"), "Idempotency-Key", "unheard-1")).filter(r -> r.status() != 503));
            assertThat(retry.status()).as("a replay of the commit nobody heard: " + retry).isEqualTo(200);
            assertThat(api.getOk(messages).get("messages")).as("stored once").hasSize(1);
        }
    }

    /** Erasure runs on the background pool, which goes to the same server: its connections are cut alike. */
    @Test
    void an_erasure_in_flight_when_the_database_goes_silent_is_answered_503_within_seconds_and_its_retry_erases() throws Exception {
        String database = DB + "_silent_erasure";
        try (var line = RoundTrips.to(TestDatabase.get().migrated(database));
             Parley parley = TestServer.startOn(line.target(), Map.of())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("silent-erasure").apiKey());
            JsonNode conversation = Fixtures.conversation(api);
            String user = "/v1/users/" + conversation.get("user_id").asText();

            Timed erasure = answeredThroughSilence(line, database,
                    "SELECT 1 FROM users WHERE user_id = " + conversation.get("user_id").asText() + " FOR UPDATE",
                    () -> api.delete(user));

            assertThat(erasure.response().status()).as(erasure.response().toString()).isEqualTo(503);
            assertThat(erasure.response().json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(erasure.took()).isLessThan(CUT_BOUND);
            Wait.until("the erasure to succeed", Duration.ofSeconds(20), () -> api.delete(user).status() == 200);
            // The erasure's background pool may reach the server a probe before the watch lets requests through again.
            Wait.until("the user to be gone", Duration.ofSeconds(10), () -> api.get(user).status() == 404);
        }
    }

    @Test
    void an_analytics_refresh_that_waits_longer_than_the_request_budget_is_not_cut_by_it() throws Exception {
        var env = Map.of("PARLEY_STATEMENT_TIMEOUT", "1s", "PARLEY_LOCK_TIMEOUT", "500ms");
        Duration held = Duration.ofSeconds(4);
        try (Parley parley = TestServer.start(DB + "_background", env)) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("refresh").apiKey());
            Timed refresh;
            // The refresh's own lock (AnalyticsRefresh.LOCK), as another instance's refresh would hold it.
            try (Connection holder = holding(DB + "_background", "SELECT pg_advisory_xact_lock(" + 0x7061726c6579_61L + ")", held)) {
                refresh = timed(() -> api.post("/v1/analytics/refresh", null));
            }

            assertThat(refresh.response().status()).as(refresh.response().toString()).isEqualTo(200);
            assertThat(refresh.took()).as("waited out the other refresh").isGreaterThanOrEqualTo(held.minusMillis(500));
        }
    }

    /** A batch of a heavy user's conversations may take longer than a request's statement: the erasure must still finish. */
    @Test
    void an_erasure_whose_statements_run_past_the_request_budget_is_not_cut_by_it() throws Exception {
        String database = DB + "_erasure";
        migratedWithSlowTrigger(database, "test_slow_delete", 2, "AFTER DELETE ON messages FOR EACH STATEMENT");
        try (Parley parley = TestServer.alongside(database, Map.of("PARLEY_STATEMENT_TIMEOUT", "1s", "PARLEY_LOCK_TIMEOUT", "500ms"))) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("erase").apiKey());
            JsonNode conversation = Fixtures.conversation(api);
            Fixtures.say(api, conversation.get("id").asText(), "user", "forget me");

            var erased = api.delete("/v1/users/" + conversation.get("user_id").asText());

            assertThat(erased.status()).as(erased.toString()).isEqualTo(200);
            assertThat(api.get("/v1/users/" + conversation.get("user_id").asText()).status()).isEqualTo(404);
        }
    }

    /** Migrates {@code database} with a trigger that sleeps {@code seconds}, then lets the change through; {@code on} says when. */
    private static void migratedWithSlowTrigger(String database, String name, int seconds, String on) throws java.sql.SQLException {
        TestDatabase.get().migrated(database);
        try (Connection sql = TestDatabase.get().connect(database); var statement = sql.createStatement()) {
            statement.execute("CREATE OR REPLACE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    + "BEGIN PERFORM pg_sleep(" + seconds + "); RETURN NEW; END $$");
            statement.execute("CREATE OR REPLACE TRIGGER " + name + " " + on + " EXECUTE FUNCTION " + name + "()");
        }
    }

    private static void assertBusy(Timed answer) {
        assertThat(answer.response().status()).as(answer.response().toString()).isEqualTo(503);
        assertThat(answer.response().isProblem()).isTrue();
        assertThat(answer.response().json().get("type").asText()).endsWith("/database-busy");
        assertThat(answer.response().header("Retry-After")).isEqualTo("2");
        assertThat(answer.took()).as("answered after the lock budget, not when the holder let go").isLessThan(ANSWER_BOUND);
    }

    /**
     * {@code request}'s answer, sent while {@code lock} holds it in {@code database}: once it waits there the line goes
     * silent and the lock is let go, so PostgreSQL answers and the line holds the answer, for at most {@link #SILENCE}.
     */
    private static Timed answeredThroughSilence(RoundTrips line, String database, String lock, Supplier<Api.Response> request)
            throws Exception {
        try {
            CompletableFuture<Timed> inFlight;
            try (Connection holder = holding(database, lock)) {
                inFlight = CompletableFuture.supplyAsync(() -> timed(request));
                awaitLockWait(holder, database);
                line.stall();
                holder.rollback();
            }
            return inFlight.get(SILENCE.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer in " + SILENCE.toSeconds() + " s of silence: the request waited on the server", e);
        } finally {
            line.resume();
        }
    }

    private static void awaitLockWait(Connection connection, String database) {
        Wait.until("the request to wait on the lock", Duration.ofSeconds(10), () -> {
            return TestDatabase.lockWaits(connection, database) > 0;
        });
    }

    /** A session of {@code database} that ran {@code lock} in a transaction it rolls back after {@link #HELD}, or when closed. */
    private static Connection holding(String database, String lock) throws java.sql.SQLException {
        return holding(database, lock, HELD);
    }

    private static Connection holding(String database, String lock, Duration held) throws java.sql.SQLException {
        Connection holder = TestDatabase.get().connect(database);
        holder.setAutoCommit(false);
        holder.createStatement().execute(lock);
        CompletableFuture.delayedExecutor(held.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
            try {
                holder.rollback(); // not forever, so a request that waits for the holder ends and the test fails
            } catch (java.sql.SQLException closedMeanwhile) {
                // released already
            }
        });
        return holder;
    }

    private static Api.Response importing(Api api, List<String> lines) {
        return api.sendBytes("POST", "/v1/import", (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/x-ndjson");
    }

    private static Timed timed(Supplier<Api.Response> request) {
        long start = System.nanoTime();
        Api.Response response = request.get();
        return new Timed(response, Duration.ofNanos(System.nanoTime() - start));
    }
}
