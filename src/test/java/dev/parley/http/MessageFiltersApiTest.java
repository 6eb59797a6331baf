package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestClock;
import dev.parley.support.TestServer;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Filters on a conversation's history, a character's messages across its conversations, and counts
 * in a time window, over HTTP on a Parley of this class's own whose clock the tests move ahead.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MessageFiltersApiTest {
    private final TestClock clock = new TestClock();
    private Parley parley;

    @BeforeAll
    void start() {
        parley = TestServer.start("parley_message_filters", Map.of(), clock);
    }

    @AfterAll
    void stop() {
        parley.close();
    }

    private Api newApp() {
        return new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("filters-" + System.nanoTime()).apiKey());
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static JsonNode say(Api api, String conversation, Map<String, Object> message) {
        return api.postOk(201, "/v1/conversations/" + conversation + "/messages", message);
    }

    private static List<String> contents(JsonNode page) {
        List<String> contents = new ArrayList<>();
        page.get("messages").forEach(m -> contents.add(m.get("content").asText()));
        return contents;
    }

    @Test
    void metadata_containment_returns_only_the_messages_whose_metadata_holds_the_object() {
        Api api = newApp();
        String conversation = Fixtures.conversation(api).get("id").asText();
        say(api, conversation, Map.of("content", "a photo", "metadata", Map.of("type", "image", "width", 640)));
        say(api, conversation, Map.of("content", "words", "metadata", Map.of("type", "text")));
        say(api, conversation, Map.of("content", "from telegram", "metadata", Map.of("telegram_message_id", 1003)));
        say(api, conversation, Map.of("content", "another telegram", "metadata", Map.of("telegram_message_id", 1004)));
        say(api, conversation, Map.of("content", "no metadata"));
        String messages = "/v1/conversations/" + conversation + "/messages";

        assertThat(contents(api.getOk(messages + "?metadata=" + q("{\"type\":\"image\"}")))).containsExactly("a photo");
        assertThat(contents(api.getOk(messages + "?metadata=" + q("{\"telegram_message_id\":1003}")))).containsExactly("from telegram");
        assertThat(contents(api.getOk(messages + "?metadata=" + q("{\"type\":\"video\"}")))).isEmpty();
    }

    @Test
    void in_a_conversation_too_long_to_walk_metadata_pages_come_from_the_index_and_follow_the_cursors() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            batch.add(i % 250 == 0 ? Map.of("content", "photo " + i, "metadata", Map.of("type", "image"))
                    : Map.of("content", "m" + i, "metadata", Map.of("type", "text")));
        }
        api.postOk(201, "/v1/conversations/" + id + "/messages/batch", Map.of("messages", batch));
        say(api, id, Map.of("content", "last photo", "metadata", Map.of("type", "image")));
        String images = "/v1/conversations/" + id + "/messages?limit=2&metadata=" + q("{\"type\":\"image\"}");

        JsonNode latest = api.getOk(images);
        assertThat(contents(latest)).containsExactly("photo 750", "last photo");
        JsonNode older = api.getOk(images + "&before=" + latest.get("older_cursor").asText());
        assertThat(contents(older)).containsExactly("photo 250", "photo 500");
        JsonNode oldest = api.getOk(images + "&before=" + older.get("older_cursor").asText());
        assertThat(contents(oldest)).containsExactly("photo 0");
        assertThat(oldest.get("has_older").asBoolean()).isFalse();
        assertThat(contents(api.getOk(images + "&after=" + oldest.get("newer_cursor").asText())))
                .containsExactly("photo 250", "photo 500");
        assertThat(TestServer.metrics(api)).as("the pages came through the metadata index")
                .contains("query=\"message.history_by_metadata\"");
    }

    @Test
    void a_filter_never_reaches_into_another_conversation() {
        Api api = newApp();
        String first = Fixtures.conversation(api).get("id").asText();
        String second = Fixtures.conversation(api).get("id").asText();
        say(api, first, Map.of("content", "first's image", "metadata", Map.of("type", "image")));
        say(api, second, Map.of("content", "second's image", "metadata", Map.of("type", "image")));

        assertThat(contents(api.getOk("/v1/conversations/" + first + "/messages?metadata=" + q("{\"type\":\"image\"}"))))
                .containsExactly("first's image");
    }

    @Test
    void role_author_and_attachments_filters_combine() {
        Api api = newApp();
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        String character = conversation.get("character_id").asText();
        String user = conversation.get("user_id").asText();
        say(api, id, Map.of("role", "user", "content", "look", "attachments", List.of(Map.of("url", "https://x/1.jpg"))));
        say(api, id, Map.of("role", "user", "content", "plain"));
        say(api, id, Map.of("role", "assistant", "content", "nice", "metadata", Map.of("type", "text")));
        say(api, id, Map.of("role", "assistant", "content", "see mine", "attachments", List.of(Map.of("url", "https://x/2.jpg"))));
        say(api, id, Map.of("role", "system", "content", "be kind"));
        String messages = "/v1/conversations/" + id + "/messages";

        assertThat(contents(api.getOk(messages + "?role=assistant"))).containsExactly("nice", "see mine");
        assertThat(contents(api.getOk(messages + "?has_attachments=true"))).containsExactly("look", "see mine");
        assertThat(contents(api.getOk(messages + "?has_attachments=false"))).containsExactly("plain", "nice", "be kind");
        assertThat(contents(api.getOk(messages + "?role=user&has_attachments=true"))).containsExactly("look");
        assertThat(contents(api.getOk(messages + "?author_character_id=" + character))).containsExactly("nice", "see mine");
        assertThat(contents(api.getOk(messages + "?author_user_id=" + user))).containsExactly("look", "plain");
        assertThat(contents(api.getOk(messages + "?author_character_id=" + character + "&has_attachments=false"
                + "&metadata=" + q("{\"type\":\"text\"}")))).containsExactly("nice");
    }

    @Test
    void created_after_and_created_before_bound_the_page_in_time() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        Instant first = Instant.parse(say(api, id, Map.of("content", "monday")).get("created_at").asText());
        clock.advance(Duration.ofHours(2));
        say(api, id, Map.of("content", "tuesday"));
        clock.advance(Duration.ofHours(2));
        Instant third = Instant.parse(say(api, id, Map.of("content", "wednesday")).get("created_at").asText());
        String messages = "/v1/conversations/" + id + "/messages";

        assertThat(contents(api.getOk(messages + "?created_after=" + first.plus(Duration.ofHours(1)))))
                .containsExactly("tuesday", "wednesday");
        assertThat(contents(api.getOk(messages + "?created_before=" + third.minus(Duration.ofHours(1)))))
                .containsExactly("monday", "tuesday");
        assertThat(contents(api.getOk(messages + "?created_after=" + first + "&created_before=" + third)))
                .as("both bounds are exclusive").containsExactly("tuesday");
        assertThat(contents(api.getOk(messages + "?created_after=" + q(first.plus(Duration.ofHours(1)).atOffset(
                java.time.ZoneOffset.ofHours(2)).toString()) + "&role=user")))
                .as("an offset other than Z names the same instant").containsExactly("tuesday", "wednesday");
        assertThat(contents(api.getOk(messages + "?created_after=0001-01-01T00:00:00Z&created_before=9999-12-31T23:59:59Z")))
                .as("the widest years RFC 3339 writes").containsExactly("monday", "tuesday", "wednesday");
        for (String far : List.of("%2B999999999-12-31T23:59:59Z", "-999999999-01-01T00:00:00Z", "%2B10000-01-01T00:00:00Z")) {
            for (String bound : List.of("created_after", "created_before")) {
                var refused = api.get(messages + "?" + bound + "=" + far);
                assertThat(refused.status()).as(bound + "=" + far).isEqualTo(400);
                assertThat(refused.json().get("detail").asText()).startsWith(bound);
            }
        }
    }

    @Test
    void filtered_pages_follow_the_before_and_after_cursors() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            batch.add(Map.of("role", i % 3 == 0 ? "assistant" : "user", "content", "m" + i));
        }
        api.postOk(201, "/v1/conversations/" + id + "/messages/batch", Map.of("messages", batch));
        String assistant = "/v1/conversations/" + id + "/messages?role=assistant&limit=4";

        JsonNode latest = api.getOk(assistant);
        assertThat(contents(latest)).containsExactly("m18", "m21", "m24", "m27");
        assertThat(latest.get("has_older").asBoolean()).isTrue();
        JsonNode older = api.getOk(assistant + "&before=" + latest.get("older_cursor").asText());
        assertThat(contents(older)).containsExactly("m6", "m9", "m12", "m15");
        JsonNode oldest = api.getOk(assistant + "&before=" + older.get("older_cursor").asText());
        assertThat(contents(oldest)).containsExactly("m0", "m3");
        assertThat(oldest.get("has_older").asBoolean()).isFalse();
        JsonNode newer = api.getOk(assistant + "&after=" + oldest.get("newer_cursor").asText());
        assertThat(contents(newer)).containsExactly("m6", "m9", "m12", "m15");
        assertThat(newer.get("has_newer").asBoolean()).isTrue();
    }

    @Test
    void a_filtered_page_is_neither_served_from_nor_stored_in_the_cached_latest_page() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        say(api, id, Map.of("role", "user", "content", "hi"));
        say(api, id, Map.of("role", "assistant", "content", "hello"));
        String messages = "/v1/conversations/" + id + "/messages?limit=10";

        assertThat(contents(api.getOk(messages))).containsExactly("hi", "hello"); // the latest page, now cached
        assertThat(contents(api.getOk(messages + "&role=assistant"))).containsExactly("hello");
        assertThat(contents(api.getOk(messages + "&role=user"))).containsExactly("hi");
        assertThat(contents(api.getOk(messages))).as("the cached page is still the unfiltered one").containsExactly("hi", "hello");
    }

    @Test
    void filter_mistakes_answer_400_naming_the_parameter() {
        Api api = newApp();
        String messages = "/v1/conversations/" + Fixtures.conversation(api).get("id").asText() + "/messages";
        Map<String, String> mistakes = Map.of(
                "?role=robot", "role",
                "?metadata=" + q("[1]"), "metadata",
                "?metadata=nope", "metadata",
                "?has_attachments=maybe", "has_attachments",
                "?created_after=yesterday", "created_after",
                "?created_before=2026-12-01", "created_before",
                "?created_after=2026-12-01T10:00:00Z&created_before=2026-12-01T09:00:00Z", "created_before",
                "?author_character_id=-3", "author_character_id");
        mistakes.forEach((query, field) -> {
            var response = api.get(messages + query);
            assertThat(response.status()).as(query).isEqualTo(400);
            assertThat(response.json().get("errors").get(0).get("field").asText()).as(query).isEqualTo(field);
        });
    }

    @Test
    void a_characters_messages_across_its_conversations_come_newest_first_a_page_at_a_time() {
        Api api = newApp();
        String character = Fixtures.character(api, "Nova");
        String elsewhere = Fixtures.character(api, "Orion");
        String first = Fixtures.conversation(api, Fixtures.user(api, "ann"), character);
        String second = Fixtures.conversation(api, Fixtures.user(api, "bob"), character);
        String other = Fixtures.conversation(api, Fixtures.user(api, "cy"), elsewhere);
        say(api, first, Map.of("role", "assistant", "content", "to ann 1"));
        say(api, first, Map.of("role", "user", "content", "ann's own words"));
        say(api, second, Map.of("role", "assistant", "content", "to bob 1"));
        say(api, other, Map.of("role", "assistant", "content", "orion speaks"));
        clock.advance(Duration.ofDays(40)); // the next message is beyond the first look's month
        say(api, first, Map.of("role", "assistant", "content", "to ann 2"));
        String path = "/v1/characters/" + character + "/messages?limit=2";

        JsonNode page = api.getOk(path);
        assertThat(contents(page)).containsExactly("to ann 2", "to bob 1");
        JsonNode next = api.getOk(path + "&before=" + page.get("next_cursor").asText());
        assertThat(contents(next)).containsExactly("to ann 1");
        assertThat(next.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void a_characters_messages_cursor_pages_only_its_own_characters_messages() {
        Api api = newApp();
        String nova = Fixtures.character(api, "Nova");
        String orion = Fixtures.character(api, "Orion");
        String withNova = Fixtures.conversation(api, Fixtures.user(api, "ann"), nova);
        String withOrion = Fixtures.conversation(api, Fixtures.user(api, "bob"), orion);
        List<String> novaSaid = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            novaSaid.addFirst("nova " + i);
            say(api, withNova, Map.of("role", "assistant", "content", "nova " + i));
            say(api, withOrion, Map.of("role", "assistant", "content", "orion " + i));
        }
        String novaPath = "/v1/characters/" + nova + "/messages?limit=2";
        String orionPath = "/v1/characters/" + orion + "/messages?limit=2";
        String novaCursor = api.getOk(novaPath).get("next_cursor").asText();
        String historyCursor = api.getOk("/v1/conversations/" + withNova + "/messages").get("older_cursor").asText();
        long novaMessage = api.getOk(novaPath).get("messages").get(1).get("id").asLong();
        // The format before cursors carried their character: a kind letter and the message id alone.
        String withoutCharacter = Base64.getUrlEncoder().withoutPadding().encodeToString(
                ByteBuffer.allocate(9).put((byte) 'm').putLong(novaMessage).array());

        assertRefused(api, orionPath + "&cursor=" + novaCursor, "cursor");
        assertRefused(api, orionPath + "&cursor=" + historyCursor, "cursor");
        assertRefused(api, novaPath + "&cursor=" + withoutCharacter, "cursor");
        assertRefused(api, orionPath + "&before=" + novaCursor, "before");
        assertThat(everyPage(api, novaPath)).isEqualTo(novaSaid);
    }

    @Test
    void a_characters_messages_take_their_cursor_as_cursor_like_every_list_or_as_before_its_earlier_name() {
        Api api = newApp();
        String nova = Fixtures.character(api, "Nova");
        String chat = Fixtures.conversation(api, Fixtures.user(api, "ann"), nova);
        for (int i = 1; i <= 3; i++) {
            say(api, chat, Map.of("role", "assistant", "content", "nova " + i));
        }
        String path = "/v1/characters/" + nova + "/messages?limit=2";
        String cursor = api.getOk(path).get("next_cursor").asText();

        assertThat(contents(api.getOk(path + "&cursor=" + cursor))).containsExactly("nova 1");
        assertThat(contents(api.getOk(path + "&before=" + cursor))).containsExactly("nova 1");
        assertRefused(api, path + "&cursor=" + cursor + "&before=" + cursor, "before");
    }

    /** The contents of every page of a character's messages, following next_cursor to the end. */
    private static List<String> everyPage(Api api, String path) {
        List<String> contents = new ArrayList<>();
        JsonNode page = api.getOk(path);
        contents.addAll(contents(page));
        while (!page.get("next_cursor").isNull()) {
            page = api.getOk(path + "&cursor=" + page.get("next_cursor").asText());
            contents.addAll(contents(page));
        }
        return contents;
    }

    private static void assertRefused(Api api, String path, String parameter) {
        var refused = api.get(path);
        assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
        assertThat(refused.json().get("errors").get(0).get("field").asText()).isEqualTo(parameter);
    }

    @Test
    void a_character_of_another_app_or_none_is_not_found() {
        Api api = newApp();
        String character = Fixtures.character(api, "Nova");
        Api stranger = newApp();

        assertThat(stranger.get("/v1/characters/" + character + "/messages").status()).isEqualTo(404);
        assertThat(stranger.get("/v1/characters/" + character + "/stats").status()).isEqualTo(404);
        assertThat(api.get("/v1/characters/999999999/messages").status()).isEqualTo(404);
    }

    @Test
    void a_characters_count_covers_the_window_that_ends_now() {
        Api api = newApp();
        String character = Fixtures.character(api, "Nova");
        String conversation = Fixtures.conversation(api, Fixtures.user(api, "ann"), character);
        say(api, conversation, Map.of("role", "assistant", "content", "early"));
        say(api, conversation, Map.of("role", "user", "content", "not the character's"));
        say(api, conversation, Map.of("role", "assistant", "content", "early too"));
        clock.advance(Duration.ofMinutes(90));
        say(api, conversation, Map.of("role", "assistant", "content", "late"));

        JsonNode lastHour = api.getOk("/v1/characters/" + character + "/stats");
        assertThat(lastHour.get("window").asText()).isEqualTo("1h");
        assertThat(lastHour.get("messages").asLong()).isEqualTo(1);
        assertThat(api.getOk("/v1/characters/" + character + "/stats?window=2h").get("messages").asLong()).isEqualTo(3);
    }

    @Test
    void an_apps_count_covers_its_own_messages_in_the_window() {
        Api api = newApp();
        Api neighbour = newApp();
        String conversation = Fixtures.conversation(api).get("id").asText();
        String theirs = Fixtures.conversation(neighbour).get("id").asText();
        say(api, conversation, Map.of("content", "old"));
        clock.advance(Duration.ofMinutes(5));
        say(api, conversation, Map.of("content", "new"));
        say(api, conversation, Map.of("content", "newer"));
        say(neighbour, theirs, Map.of("content", "not ours"));

        assertThat(api.getOk("/v1/stats/messages").get("messages").asLong()).isEqualTo(2);
        assertThat(api.getOk("/v1/stats/messages?window=10m").get("messages").asLong()).isEqualTo(3);
        assertThat(api.get("/v1/stats/messages?window=2d").status()).isEqualTo(400);
        assertThat(api.get("/v1/stats/messages?window=0s").status()).isEqualTo(400);
    }

    @Test
    void conversation_stats_count_messages_by_role_and_type_overall_or_in_a_window() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        say(api, id, Map.of("role", "user", "content", "a", "metadata", Map.of("type", "image")));
        say(api, id, Map.of("role", "assistant", "content", "b", "metadata", Map.of("type", "text")));
        clock.advance(Duration.ofHours(3));
        say(api, id, Map.of("role", "user", "content", "c"));
        say(api, id, Map.of("role", "assistant", "content", "d", "metadata", Map.of("type", "text")));
        say(api, id, Map.of("role", "assistant", "content", "e"));

        JsonNode all = api.getOk("/v1/conversations/" + id + "/stats");
        assertThat(all.get("message_count").asLong()).isEqualTo(5);
        assertThat(all.get("by_role").get("user").asLong()).isEqualTo(2);
        assertThat(all.get("by_role").get("assistant").asLong()).isEqualTo(3);
        assertThat(all.get("by_type").get("text").asLong()).isEqualTo(2);
        assertThat(all.get("by_type").get("image").asLong()).isEqualTo(1);
        assertThat(all.get("by_type").get("none").asLong()).isEqualTo(2);
        JsonNode lastHour = api.getOk("/v1/conversations/" + id + "/stats?window=1h");
        assertThat(lastHour.get("window").asText()).isEqualTo("1h");
        assertThat(lastHour.get("by_role").get("user").asLong()).isEqualTo(1);
        assertThat(lastHour.get("by_role").get("assistant").asLong()).isEqualTo(2);
        assertThat(lastHour.get("by_type").has("image")).isFalse();
        assertThat(lastHour.get("message_count").asLong()).as("totals stay those of the conversation").isEqualTo(5);
    }

    @Test
    void a_soft_deleted_message_matches_no_filter_on_what_it_hides_and_counts_by_role_but_not_by_type() {
        Api api = newApp();
        String id = Fixtures.conversation(api).get("id").asText();
        String gone = say(api, id, Map.of("role", "user", "content", "wrong chat", "metadata", Map.of("type", "image"),
                "attachments", List.of(Map.of("url", "https://x/1.jpg")))).get("id").asText();
        say(api, id, Map.of("role", "user", "content", "kept", "metadata", Map.of("type", "image"),
                "attachments", List.of(Map.of("url", "https://x/2.jpg"))));
        say(api, id, Map.of("role", "assistant", "content", "plain"));
        assertThat(api.delete("/v1/conversations/" + id + "/messages/" + gone).status()).isEqualTo(200);
        String messages = "/v1/conversations/" + id + "/messages";

        assertThat(contents(api.getOk(messages + "?metadata=" + q("{\"type\":\"image\"}")))).containsExactly("kept");
        assertThat(contents(api.getOk(messages + "?has_attachments=true"))).containsExactly("kept");
        assertThat(contents(api.getOk(messages + "?has_attachments=false"))).containsExactly("plain");
        assertThat(api.getOk(messages + "?role=user").get("messages")).as("its role is seen: it keeps its place").hasSize(2);
        JsonNode stats = api.getOk("/v1/conversations/" + id + "/stats");
        assertThat(stats.get("message_count").asLong()).isEqualTo(3);
        assertThat(stats.get("by_role").toString()).isEqualTo("{\"assistant\":1,\"user\":2}");
        assertThat(stats.get("by_type").toString()).isEqualTo("{\"image\":1,\"none\":1}");
    }
}
