package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Counters over real HTTP. Most tests run on a Parley whose window never closes by itself (a million
 * increments or an hour), so what is in PostgreSQL is exactly what a durable increment or a shutdown
 * wrote; one runs on the shared server with the defaults (10 increments or 5 s).
 */
class CountersApiTest {
    private static final String DB = "parley_counters_api";
    private static final Map<String, String> NEVER_BY_ITSELF = Map.of(
            "PARLEY_COUNTER_FLUSH_EVERY", "1000000", "PARLEY_COUNTER_FLUSH_AFTER", "1h");
    private static final int THREADS = 16;
    private static final int EACH = 25;

    private static Parley parley;
    private static Api api;

    @BeforeAll
    static void start() {
        parley = TestServer.start(DB, NEVER_BY_ITSELF);
        api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("counters").apiKey());
    }

    @AfterAll
    static void stop() {
        parley.close();
    }

    @Test
    void increments_from_many_threads_are_read_back_at_once_though_none_is_written_yet() throws Exception {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        String user = conversation.get("user_id").asText();

        concurrently(api, () -> {
            api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
            api.postOk(200, "/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", 2)));
        });

        int n = THREADS * EACH;
        assertThat(api.getOk("/v1/conversations/" + id).get("counters").get("affection").asLong()).isEqualTo(n);
        assertThat(api.getOk("/v1/conversations/" + id + "/context").get("conversation").get("counters").get("affection")
                .asLong()).isEqualTo(n);
        assertThat(api.getOk("/v1/conversations?character_id=" + conversation.get("character_id").asText())
                .get("conversations").get(0).get("counters").get("affection").asLong()).isEqualTo(n);
        JsonNode userRead = api.getOk("/v1/users/" + user);
        assertThat(userRead.get("counters").get("xp").asLong()).isEqualTo(2L * n);
        assertThat(api.getOk("/v1/users?external_id=" + userRead.get("external_id").asText()).get("counters").get("xp")
                .asLong()).isEqualTo(2L * n);
        assertThat(storedConversation(id)).as("PostgreSQL holds none of them yet").isEqualTo(json("{}"));
        assertThat(storedUser(user)).isEqualTo(json("{}"));
    }

    @Test
    void the_answer_to_an_increment_is_every_counter_as_this_instance_shows_it() {
        String id = api.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(api, "u-" + System.nanoTime()),
                "character_id", Fixtures.character(api, "Luna"), "counters", Map.of("trust", 3))).get("id").asText();

        api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 5)));
        JsonNode answer = api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", -2)));

        assertThat(answer.get("counters")).isEqualTo(json("{\"trust\": 3, \"affection\": 3}"));
    }

    @Test
    void a_durable_increment_is_in_postgresql_when_answered_with_the_increments_held_before_it() {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        String user = conversation.get("user_id").asText();
        for (int i = 0; i < 5; i++) {
            api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
            api.postOk(200, "/v1/users/" + user + "/counters", Map.of("increments", Map.of("coins", 10)));
        }

        JsonNode answer = api.postOk(200, "/v1/conversations/" + id + "/counters?durable=true",
                Map.of("increments", Map.of("affection", 1, "purchases", 1)));
        api.postOk(200, "/v1/users/" + user + "/counters?durable=true", Map.of("increments", Map.of("coins", -20)));

        assertThat(storedConversation(id)).isEqualTo(json("{\"affection\": 6, \"purchases\": 1}"));
        assertThat(answer.get("counters")).isEqualTo(storedConversation(id));
        assertThat(storedUser(user)).isEqualTo(json("{\"coins\": 30}"));
        assertThat(api.getOk("/v1/users/" + user).get("counters")).isEqualTo(json("{\"coins\": 30}"));
    }

    @Test
    void a_result_beyond_64_bits_is_refused_in_either_mode_and_changes_nothing() {
        String id = api.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(api, "u-" + System.nanoTime()),
                "character_id", Fixtures.character(api, "c"), "counters", Map.of("xp", Long.MAX_VALUE, "debt", Long.MIN_VALUE)))
                .get("id").asText();
        String user = Fixtures.user(api, "u-" + System.nanoTime());
        api.postOk(200, "/v1/users/" + user + "/counters?durable=true", Map.of("increments", Map.of("xp", Long.MAX_VALUE)));

        for (String mode : List.of("", "?durable=true")) {
            assertRefused(api.post("/v1/conversations/" + id + "/counters" + mode, Map.of("increments", Map.of("xp", 1))));
            assertRefused(api.post("/v1/conversations/" + id + "/counters" + mode, Map.of("increments", Map.of("debt", -1))));
            assertRefused(api.post("/v1/users/" + user + "/counters" + mode, Map.of("increments", Map.of("xp", 1))));
        }

        assertThat(api.getOk("/v1/conversations/" + id).get("counters").get("xp").asLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(api.getOk("/v1/users/" + user).get("counters").get("xp").asLong()).isEqualTo(Long.MAX_VALUE);
    }

    /**
     * Only a result outside 64 bits is refused: the increments queued before one may sum beyond them while the
     * counter they move stays within (-MAX stored, +MAX queued, then a durable +1 is 1).
     */
    @Test
    void an_increment_whose_result_fits_is_taken_though_the_queued_increments_sum_beyond_64_bits() {
        JsonNode conversation = Fixtures.conversation(api);
        String user = conversation.get("user_id").asText();
        String id = conversation.get("id").asText();
        for (String holder : List.of("/v1/users/" + user, "/v1/conversations/" + id)) {
            api.postOk(200, holder + "/counters?durable=true", Map.of("increments", Map.of("g", -Long.MAX_VALUE)));
            assertThat(api.postOk(200, holder + "/counters", Map.of("increments", Map.of("g", Long.MAX_VALUE)))
                    .get("counters")).isEqualTo(json("{\"g\": 0}"));
            assertThat(api.postOk(200, holder + "/counters?durable=true", Map.of("increments", Map.of("g", 1)))
                    .get("counters")).as("written with the queued MAX: MAX + 1").isEqualTo(json("{\"g\": 1}"));
        }
        assertThat(storedUser(user)).isEqualTo(json("{\"g\": 1}"));
        assertThat(storedConversation(id)).isEqualTo(json("{\"g\": 1}"));
    }

    @Test
    void a_holder_keeps_at_most_a_hundred_counters_in_either_mode_and_a_refused_increment_changes_nothing() {
        for (String mode : List.of("", "?durable=true")) {
            Map<String, Object> ninetyNine = new HashMap<>();
            for (int i = 0; i < 99; i++) {
                ninetyNine.put("k" + i, 1);
            }
            String user = Fixtures.user(api, "u-" + System.nanoTime());
            String id = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", Fixtures.character(api, "c"),
                    "counters", ninetyNine)).get("id").asText();
            api.postOk(200, "/v1/users/" + user + "/counters?durable=true", Map.of("increments", ninetyNine));
            for (String holder : List.of("/v1/conversations/" + id, "/v1/users/" + user)) {
                String counters = holder + "/counters" + mode;

                var twoNew = api.post(counters, Map.of("increments", Map.of("a", 1, "b", 1)));
                api.postOk(200, counters, Map.of("increments", Map.of("a", 1, "k0", 1)));
                var oneMore = api.post(counters, Map.of("increments", Map.of("c", 1)));
                api.postOk(200, counters, Map.of("increments", Map.of("a", 1, "k1", 2)));

                for (var refused : List.of(twoNew, oneMore)) {
                    assertThat(refused.status()).as(mode + " " + holder + ": " + refused).isEqualTo(400);
                    assertThat(refused.json().get("errors").get(0).get("field").asText()).isEqualTo("increments");
                    assertThat(refused.json().get("detail").asText()).contains("at most 100");
                }
                JsonNode shown = api.getOk(holder).get("counters");
                assertThat(shown.size()).as(mode + " " + holder).isEqualTo(100);
                assertThat(shown.get("a").asLong()).isEqualTo(2);
                assertThat(shown.get("k1").asLong()).isEqualTo(3);
            }
        }
    }

    @Test
    void durable_must_be_true_or_false() {
        String user = Fixtures.user(api, "u-" + System.nanoTime());
        for (String loose : List.of("yes", "1", "0", "TRUE")) {
            var response = api.post("/v1/users/" + user + "/counters?durable=" + loose, Map.of("increments", Map.of("xp", 1)));

            assertThat(response.status()).as(loose).isEqualTo(400);
            assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("durable");
        }
        assertThat(api.getOk("/v1/users/" + user).get("counters").has("xp")).as("nothing was counted").isFalse();
    }

    @Test
    void an_increment_is_a_json_number_and_a_string_of_digits_is_a_400_naming_the_counter() {
        String id = Fixtures.conversation(api).get("id").asText();
        String user = Fixtures.user(api, "u-" + System.nanoTime());

        var conversation = api.post("/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", "5")));
        var ofUser = api.post("/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", "5")));

        assertThat(conversation.status()).isEqualTo(400);
        assertThat(conversation.isProblem()).isTrue();
        assertThat(conversation.json().get("errors").get(0).get("field").asText()).isEqualTo("increments.affection");
        assertThat(ofUser.status()).isEqualTo(400);
        assertThat(ofUser.json().get("errors").get(0).get("field").asText()).isEqualTo("increments.xp");
        assertThat(api.getOk("/v1/conversations/" + id).get("counters").has("affection")).as("nothing was counted").isFalse();
        assertThat(api.getOk("/v1/users/" + user).get("counters").has("xp")).as("nothing was counted").isFalse();
    }

    @Test
    void another_instance_shows_the_written_value_until_the_change_is_written_and_announced() {
        Parley other = TestServer.alongside(DB, Map.of());
        try {
            Api elsewhere = new Api("http://127.0.0.1:" + other.port(), api.key());
            String id = Fixtures.conversation(api).get("id").asText();
            for (int i = 0; i < 3; i++) {
                api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
            }

            assertThat(elsewhere.getOk("/v1/conversations/" + id).get("counters")).as("not written yet").isEqualTo(json("{}"));
            api.postOk(200, "/v1/conversations/" + id + "/counters?durable=true", Map.of("increments", Map.of("affection", 1)));
            Wait.until("the other instance to hear of the write", Duration.ofSeconds(1), () ->
                    elsewhere.getOk("/v1/conversations/" + id).get("counters").path("affection").asLong() == 4);
        } finally {
            other.close();
        }
    }

    @Test
    void closing_parley_writes_every_increment_it_holds() throws Exception {
        Parley closing = TestServer.alongside(DB, NEVER_BY_ITSELF);
        Api through = new Api("http://127.0.0.1:" + closing.port(), api.key());
        JsonNode conversation = Fixtures.conversation(through);
        String id = conversation.get("id").asText();
        String user = conversation.get("user_id").asText();
        concurrently(through, () -> {
            through.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
            through.postOk(200, "/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", 1)));
        });
        assertThat(storedConversation(id)).isEqualTo(json("{}"));

        closing.close();

        assertThat(storedConversation(id)).isEqualTo(json("{\"affection\": " + THREADS * EACH + "}"));
        assertThat(storedUser(user)).isEqualTo(json("{\"xp\": " + THREADS * EACH + "}"));
    }

    @Test
    void with_the_default_window_increments_from_many_threads_end_as_exactly_that_many_in_postgresql() throws Exception {
        Api shared = TestServer.newApp();
        JsonNode conversation = Fixtures.conversation(shared);
        String id = conversation.get("id").asText();
        String user = conversation.get("user_id").asText();
        concurrently(shared, () -> {
            shared.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
            shared.postOk(200, "/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", 3)));
        });
        shared.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1))); // due by time only

        int n = THREADS * EACH + 1;
        Wait.until("every increment written (10 at a time, the rest within 5 s)", Duration.ofSeconds(10), () ->
                stored(TestServer.DATABASE, "conversations", "conversation_id", id).path("affection").asLong() == n
                        && stored(TestServer.DATABASE, "users", "user_id", user).path("xp").asLong() == 3L * (n - 1));
        assertThat(stored(TestServer.DATABASE, "conversations", "conversation_id", id)).isEqualTo(json("{\"affection\": " + n + "}"));
    }

    /** Runs {@code each} {@value #EACH} times on each of {@value #THREADS} threads at once. */
    private static void concurrently(Api client, Runnable each) throws Exception {
        try (var pool = Executors.newFixedThreadPool(THREADS)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < EACH; i++) {
                        each.run();
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }
    }

    private static void assertRefused(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().get("detail").asText()).contains("64-bit");
    }

    private static JsonNode storedConversation(String id) {
        return stored(DB, "conversations", "conversation_id", id);
    }

    private static JsonNode storedUser(String id) {
        return stored(DB, "users", "user_id", id);
    }

    /** The counters column as PostgreSQL holds it, read past Parley. */
    private static JsonNode stored(String database, String table, String key, String id) {
        try (var connection = TestDatabase.get().connect(database);
             var query = connection.prepareStatement("SELECT counters FROM " + table + " WHERE " + key + " = ?")) {
            query.setLong(1, Long.parseLong(id));
            try (var rows = query.executeQuery()) {
                assertThat(rows.next()).as(table + " " + id).isTrue();
                return Json.parse(rows.getString(1));
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    private static JsonNode json(String text) {
        return Json.parse(text);
    }
}
