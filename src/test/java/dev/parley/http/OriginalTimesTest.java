package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.db.Partitions;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Conversations and messages created with their original times, as an import from another store
 * sends them: the ids are drawn from those times, so history keeps the original order and each
 * message lands in its month's partition, made on demand when it is older than any so far.
 */
class OriginalTimesTest {
    private final Api api = TestServer.newApp();
    private final String user = Fixtures.user(api, "imported-" + System.nanoTime());
    private final String character = Fixtures.character(api, "Luna");
    // Whole milliseconds: ids keep milliseconds. Four months back is older than the partitions a migration makes.
    private final Instant began = Instant.now().minus(Duration.ofDays(120)).truncatedTo(ChronoUnit.MILLIS);

    /** A time ahead of the clock, allowed for skew, moves the conversation on: docs/api.md says what the next append gets. */
    @Test
    void a_message_appended_after_one_given_a_time_ahead_is_stamped_just_after_it() {
        String conversation = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character))
                .get("id").asText();
        Instant ahead = Instant.now().plus(Duration.ofMinutes(4)).truncatedTo(ChronoUnit.MILLIS);
        api.postOk(201, "/v1/conversations/" + conversation + "/messages", Map.of("content", "from a clock ahead",
                "created_at", ahead.toString()));

        JsonNode live = Fixtures.say(api, conversation, "user", "written now");

        assertThat(Instant.parse(live.get("created_at").asText())).isBetween(ahead, ahead.plusSeconds(1));
        assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("from a clock ahead", "written now");
    }

    @Test
    void an_imported_conversation_keeps_its_times_order_and_months() throws SQLException {
        JsonNode conversation = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", began.toString()));
        String path = "/v1/conversations/" + conversation.get("id").asText();
        Instant first = began.plus(Duration.ofMinutes(1));
        Instant second = began.plus(Duration.ofDays(40));

        JsonNode single = api.postOk(201, path + "/messages", Map.of("content", "hello from the old store",
                "created_at", first.toString()));
        api.postOk(201, path + "/messages/batch", Map.of("messages", List.of(
                Map.of("role", "assistant", "content", "a reply, forty days on", "created_at", second.toString()),
                Map.of("role", "user", "content", "and one at the same millisecond", "created_at", second.toString()))));
        JsonNode live = Fixtures.say(api, conversation.get("id").asText(), "user", "written today");

        assertThat(Instant.parse(conversation.get("created_at").asText())).isEqualTo(began);
        assertThat(Instant.parse(single.get("created_at").asText())).isEqualTo(first);
        JsonNode history = api.getOk(path + "/messages");
        assertThat(history.get("messages").findValuesAsText("content")).containsExactly("hello from the old store",
                "a reply, forty days on", "and one at the same millisecond", "written today");
        assertThat(history.get("messages").findValuesAsText("created_at").subList(1, 3)).allMatch(t -> Instant.parse(t).equals(second));
        assertThat(Instant.parse(live.get("created_at").asText())).isAfter(Instant.now().minus(Duration.ofMinutes(5)));
        assertThat(history.get("messages").findValuesAsText("seq")).containsExactly("1", "2", "3", "4");

        List<String> months = new ArrayList<>();
        try (var connection = TestDatabase.get().connect(TestServer.DATABASE);
             var rows = connection.createStatement().executeQuery("SELECT tableoid::regclass::text FROM messages WHERE conversation_id = "
                     + conversation.get("id").asText() + " ORDER BY message_id")) {
            while (rows.next()) {
                months.add(rows.getString(1));
            }
        }
        assertThat(months.subList(0, 3)).as("each in its own month's partition, not the catch-all").containsExactly(
                Partitions.nameOf(YearMonth.from(first.atZone(ZoneOffset.UTC))),
                Partitions.nameOf(YearMonth.from(second.atZone(ZoneOffset.UTC))),
                Partitions.nameOf(YearMonth.from(second.atZone(ZoneOffset.UTC))));
    }

    /**
     * A refused message makes no month: an empty one would cost every new connection, and an archive run would take it
     * (and the months between it and the next) as archived, closed to imports for every app.
     */
    @Test
    void a_refused_message_makes_no_month() throws SQLException {
        String conversation = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", began.toString())).get("id").asText();
        var unknown = api.post("/v1/conversations/987654321012/messages", Map.of("content", "x", "created_at", "2004-02-10T00:00:00Z"));
        var beforeItBegan = api.post("/v1/conversations/" + conversation + "/messages/batch", Map.of("messages", List.of(
                Map.of("content", "x", "created_at", "2004-03-10T00:00:00Z"))));

        assertThat(unknown.status()).isEqualTo(404);
        assertThat(fieldOf(beforeItBegan)).isEqualTo("messages[0].created_at");
        try (var connection = TestDatabase.get().connect(TestServer.DATABASE);
             var rows = connection.createStatement().executeQuery(
                     "SELECT count(*) FROM pg_class WHERE relname IN ('messages_y2004m02', 'messages_y2004m03')")) {
            rows.next();
            assertThat(rows.getLong(1)).as("partitions made for refused messages").isZero();
        }
    }

    @Test
    void a_message_from_a_client_whose_clock_runs_ahead_lifts_its_own_conversations_ids_alone() {
        String ahead = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character)).get("id").asText();
        String other = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character)).get("id").asText();
        Instant fourMinutesOn = Instant.now().plus(Duration.ofMinutes(4)).truncatedTo(ChronoUnit.MILLIS);
        api.postOk(201, "/v1/conversations/" + ahead + "/messages", Map.of("content", "sent by a fast clock",
                "created_at", fourMinutesOn.toString()));

        JsonNode next = Fixtures.say(api, ahead, "user", "the next one, after it");
        JsonNode elsewhere = Fixtures.say(api, other, "user", "in another conversation");

        assertThat(Instant.parse(next.get("created_at").asText())).as("not before its conversation's newest").isAfterOrEqualTo(fourMinutesOn);
        assertThat(Instant.parse(elsewhere.get("created_at").asText())).as("at the server's time, not the fast clock's")
                .isBefore(Instant.now().plusSeconds(1));
    }

    @Test
    void a_message_older_than_the_conversation_or_its_newest_message_or_from_the_future_is_refused() {
        String conversation = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", began.toString())).get("id").asText();
        String path = "/v1/conversations/" + conversation + "/messages";
        api.postOk(201, path, Map.of("content", "a week in", "created_at", began.plus(Duration.ofDays(7)).toString()));

        var beforeTheNewest = api.post(path, Map.of("content", "x", "created_at", began.plus(Duration.ofDays(6)).toString()));
        var beforeTheStart = api.post(path + "/batch", Map.of("messages", List.of(Map.of("content", "fine",
                "created_at", began.plus(Duration.ofDays(8)).toString()), Map.of("content", "x", "created_at", "2001-01-01T00:00:00Z"))));
        var future = api.post(path, Map.of("content", "x", "created_at", Instant.now().plus(Duration.ofHours(1)).toString()));
        var unreadable = api.post("/v1/conversations", Map.of("user_id", user, "character_id", character, "created_at", "yesterday"));

        assertThat(fieldOf(beforeTheNewest)).isEqualTo("created_at");
        assertThat(beforeTheNewest.json().get("errors").get(0).get("detail").asText()).contains("oldest first");
        assertThat(fieldOf(beforeTheStart)).isEqualTo("messages[1].created_at");
        assertThat(fieldOf(future)).isEqualTo("created_at");
        assertThat(fieldOf(unreadable)).isEqualTo("created_at");
        assertThat(api.getOk(path).get("messages").findValuesAsText("content")).as("the refused batch stored nothing")
                .containsExactly("a week in");
    }

    @Test
    void a_character_made_today_lists_what_it_said_in_a_conversation_imported_from_before() {
        String conversation = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", began.toString())).get("id").asText();
        api.postOk(201, "/v1/conversations/" + conversation + "/messages", Map.of("role", "assistant", "content", "long ago",
                "character_id", character, "created_at", began.plusSeconds(5).toString()));
        // A character joining a group imported from before it existed, and speaking there at the group's time.
        String orion = Fixtures.character(api, "Orion");
        String group = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_ids", List.of(character),
                "created_at", began.plusSeconds(10).toString())).get("id").asText();
        api.postOk(201, "/v1/conversations/" + group + "/members", Map.of("character_id", orion));
        api.postOk(201, "/v1/conversations/" + group + "/messages", Map.of("role", "assistant", "content", "me too",
                "character_id", orion, "created_at", began.plusSeconds(15).toString()));

        assertThat(api.getOk("/v1/characters/" + character + "/messages").get("messages").findValuesAsText("content"))
                .contains("long ago");
        assertThat(Instant.parse(api.getOk("/v1/characters/" + character).get("created_at").asText())).isEqualTo(began);
        assertThat(api.getOk("/v1/characters/" + orion + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("me too");
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }
}
