package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GET /v1/leaderboard and GET /v1/users/{user_id}/rank over real HTTP and PostgreSQL. The server's counter window
 * never closes by itself, so a leaderboard shows exactly what durable increments (and the flushes a test makes)
 * wrote; each test has an app of its own, so its board holds only its users.
 */
class LeaderboardApiTest {
    private static final String DB = "parley_leaderboard_api";
    private static final Map<String, String> NEVER_BY_ITSELF = Map.of(
            "PARLEY_COUNTER_FLUSH_EVERY", "1000000", "PARLEY_COUNTER_FLUSH_AFTER", "1h");

    private static Parley parley;

    @BeforeAll
    static void start() {
        parley = TestServer.start(DB, NEVER_BY_ITSELF);
    }

    @AfterAll
    static void stop() {
        parley.close();
    }

    @Test
    void users_are_ranked_highest_first_with_ties_by_user_id_and_sharing_their_rank() {
        Api api = app();
        String ada = user(api, "ada", 50);
        String bo = user(api, "bo", 80);
        String cy = user(api, "cy", 50);
        String di = user(api, "di", 10);
        user(api, "eve", 0);

        JsonNode board = api.getOk("/v1/leaderboard?counter=xp");

        assertThat(board.get("counter").asText()).isEqualTo("xp");
        assertThat(ids(board)).containsExactly(bo, ada, cy, di, id(api, "eve"));
        assertThat(ranks(board)).containsExactly(1L, 2L, 2L, 4L, 5L);
        JsonNode first = board.get("entries").get(0);
        assertThat(first.get("external_id").asText()).isEqualTo("bo");
        assertThat(first.get("profile").get("name").asText()).isEqualTo("bo");
        assertThat(first.get("value").asLong()).isEqualTo(80);
        assertThat(board.get("next_cursor").isNull()).as("one page").isTrue();
    }

    @Test
    void pages_follow_their_cursor_through_a_tie_and_keep_counting_ranks() {
        Api api = app();
        List<String> expected = new ArrayList<>();
        expected.add(user(api, "top", 100));
        for (int i = 0; i < 7; i++) {
            expected.add(user(api, "tied-" + i, 40));
        }
        expected.add(user(api, "last", 5));

        List<String> seen = new ArrayList<>();
        List<Long> ranks = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = api.getOk("/v1/leaderboard?counter=xp&limit=3" + (cursor == null ? "" : "&cursor=" + cursor));
            seen.addAll(ids(page));
            ranks.addAll(ranks(page));
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
            pages++;
        } while (cursor != null);

        assertThat(seen).containsExactlyElementsOf(expected);
        assertThat(ranks).containsExactly(1L, 2L, 2L, 2L, 2L, 2L, 2L, 2L, 9L);
        assertThat(pages).as("the last page is exactly full: no empty page after it").isEqualTo(3);
    }

    @Test
    void one_users_rank_and_value_and_none_for_a_counter_never_written() {
        Api api = app();
        user(api, "a", 30);
        String b = user(api, "b", 20);
        user(api, "c", 20);
        String d = user(api, "d", 5);

        JsonNode rank = api.getOk("/v1/users/" + d + "/rank?counter=xp");
        JsonNode tied = api.getOk("/v1/users/" + b + "/rank?counter=xp");
        JsonNode none = api.getOk("/v1/users/" + d + "/rank?counter=coins");

        assertThat(rank.get("user_id").asText()).isEqualTo(d);
        assertThat(rank.get("counter").asText()).isEqualTo("xp");
        assertThat(rank.get("value").asLong()).isEqualTo(5);
        assertThat(rank.get("rank").asLong()).isEqualTo(4);
        assertThat(tied.get("rank").asLong()).isEqualTo(2);
        assertThat(none.get("value").isNull()).isTrue();
        assertThat(none.get("rank").isNull()).isTrue();
        assertThat(api.get("/v1/users/999999999/rank?counter=xp").status()).isEqualTo(404);
    }

    @Test
    void another_apps_users_are_not_on_the_board_and_its_user_has_no_rank_here() {
        Api api = app();
        Api other = app();
        String mine = user(api, "mine", 1);
        String theirs = user(other, "theirs", 1_000);

        assertThat(ids(api.getOk("/v1/leaderboard?counter=xp"))).containsExactly(mine);
        assertThat(api.get("/v1/users/" + theirs + "/rank?counter=xp").status()).isEqualTo(404);
    }

    @Test
    void an_erased_user_leaves_the_board() {
        Api api = app();
        String stays = user(api, "stays", 10);
        String erased = user(api, "erased", 20);

        assertThat(api.delete("/v1/users/" + erased).status()).isEqualTo(200);

        JsonNode board = api.getOk("/v1/leaderboard?counter=xp");
        assertThat(ids(board)).containsExactly(stays);
        assertThat(ranks(board)).containsExactly(1L);
        assertThat(entriesInDatabase(erased)).isZero();
    }

    @Test
    void increments_held_for_a_flush_are_ranked_once_the_flush_writes_them() {
        Parley flushing = TestServer.alongside(DB, Map.of("PARLEY_COUNTER_FLUSH_EVERY", "1", "PARLEY_COUNTER_FLUSH_AFTER", "1h"));
        try {
            Api api = app();
            Api through = new Api("http://127.0.0.1:" + flushing.port(), api.key());
            String ahead = user(api, "ahead", 10);
            String held = api.postOk(201, "/v1/users", Map.of("external_id", "held")).get("id").asText();

            api.postOk(200, "/v1/users/" + held + "/counters", Map.of("increments", Map.of("xp", 50)));
            assertThat(ids(api.getOk("/v1/leaderboard?counter=xp"))).as("held in memory, not written").containsExactly(ahead);

            through.postOk(200, "/v1/users/" + held + "/counters", Map.of("increments", Map.of("xp", 30))); // due at once

            Wait.until("the flush to write the increment", Duration.ofSeconds(10), () ->
                    ids(api.getOk("/v1/leaderboard?counter=xp")).equals(List.of(held, ahead)));
            assertThat(api.getOk("/v1/users/" + held + "/rank?counter=xp").get("value").asLong()).isEqualTo(30);
        } finally {
            flushing.close();
        }
    }

    @Test
    void a_counter_no_one_has_is_an_empty_board_and_names_with_spaces_work() {
        Api api = app();
        String user = api.postOk(201, "/v1/users", Map.of("external_id", "s")).get("id").asText();
        api.postOk(200, "/v1/users/" + user + "/counters?durable=true", Map.of("increments", Map.of("season 1 xp", 3)));

        JsonNode empty = api.getOk("/v1/leaderboard?counter=nobody");
        JsonNode spaced = api.getOk("/v1/leaderboard?counter=" + URLEncoder.encode("season 1 xp", StandardCharsets.UTF_8));

        assertThat(empty.get("entries").size()).isZero();
        assertThat(empty.get("next_cursor").isNull()).isTrue();
        assertThat(ids(spaced)).containsExactly(user);
    }

    @Test
    void a_bad_counter_limit_or_cursor_is_a_400_naming_it() {
        Api api = app();
        for (int i = 0; i < 3; i++) {
            user(api, "u" + i, i);
        }
        String xpCursor = api.getOk("/v1/leaderboard?counter=xp&limit=1").get("next_cursor").asText();
        String longName = "x".repeat(101);

        assertRefused(api.get("/v1/leaderboard"), "counter");
        assertRefused(api.get("/v1/leaderboard?counter=%20"), "counter");
        assertRefused(api.get("/v1/leaderboard?counter=" + longName), "counter");
        assertRefused(api.get("/v1/leaderboard?counter=xp&limit=0"), "limit");
        assertRefused(api.get("/v1/leaderboard?counter=xp&limit=101"), "limit");
        assertRefused(api.get("/v1/leaderboard?counter=xp&limit=ten"), "limit");
        assertRefused(api.get("/v1/leaderboard?counter=xp&cursor=nonsense"), "cursor");
        assertRefused(api.get("/v1/leaderboard?counter=coins&cursor=" + xpCursor), "cursor");
        Api other = app();
        user(other, "top", 50);
        assertRefused(other.get("/v1/leaderboard?counter=xp&cursor=" + xpCursor), "cursor"); // it gave its ranks to another app's users
        assertRefused(api.get("/v1/conversations?cursor=" + xpCursor), "cursor");
        assertRefused(api.get("/v1/users/1/rank"), "counter");
        assertThat(api.getOk("/v1/leaderboard?counter=xp&cursor=" + xpCursor).get("entries").size()).isEqualTo(2);
    }

    @Test
    void a_counter_written_by_hand_as_a_non_integer_is_not_ranked_and_breaks_nothing() throws SQLException {
        Api api = app();
        String ranked = user(api, "ranked", 7);
        String odd = user(api, "odd", 9);

        try (var connection = TestDatabase.get().connect(DB);
             var update = connection.prepareStatement("UPDATE users SET counters = counters || ?::jsonb WHERE user_id = ?")) {
            update.setString(1, "{\"xp\": \"nine\", \"gold\": 1e999}");
            update.setLong(2, Long.parseLong(odd));
            update.executeUpdate();
        }

        assertThat(ids(api.getOk("/v1/leaderboard?counter=xp"))).containsExactly(ranked);
        assertThat(api.getOk("/v1/leaderboard?counter=gold").get("entries").size()).isZero();
        assertThat(api.getOk("/v1/users/" + odd + "/rank?counter=xp").get("rank").isNull()).isTrue();
    }

    private static Api app() {
        return new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("lb-" + System.nanoTime()).apiKey());
    }

    /** A user named {@code name} whose xp, written durably, is {@code xp}. */
    private static String user(Api api, String name, long xp) {
        String id = api.postOk(201, "/v1/users", Map.of("external_id", name, "profile", Map.of("name", name))).get("id").asText();
        api.postOk(200, "/v1/users/" + id + "/counters?durable=true", Map.of("increments", Map.of("xp", xp)));
        return id;
    }

    private static String id(Api api, String externalId) {
        return api.getOk("/v1/users?external_id=" + externalId).get("id").asText();
    }

    private static List<String> ids(JsonNode board) {
        List<String> ids = new ArrayList<>();
        board.get("entries").forEach(entry -> ids.add(entry.get("user_id").asText()));
        return ids;
    }

    private static List<Long> ranks(JsonNode board) {
        List<Long> ranks = new ArrayList<>();
        board.get("entries").forEach(entry -> ranks.add(entry.get("rank").asLong()));
        return ranks;
    }

    private static void assertRefused(Api.Response response, String field) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).as(response.toString()).isEqualTo(field);
    }

    private static long entriesInDatabase(String userId) {
        try (var connection = TestDatabase.get().connect(DB);
             var query = connection.prepareStatement("SELECT count(*) FROM leaderboard_entries WHERE user_id = ?")) {
            query.setLong(1, Long.parseLong(userId));
            try (var rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }
}
