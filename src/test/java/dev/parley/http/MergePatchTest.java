package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.Map;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PATCH merges every JSON document it is given (RFC 7396): a key set to null goes, nested objects
 * merge, the keys not named stay. Updating one bot's stance on one topic keeps its other keys.
 */
class MergePatchTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_character_patch_merges_traits_and_metadata_instead_of_replacing_them() {
        String id = api.postOk(201, "/v1/characters", json("""
                {"name": "Luna", "traits": {"energy": "calm", "stance": {"cats": "love", "dogs": "meh"}},
                 "metadata": {"avatar": "luna.png", "tier": "free", "tags": {"a": 1, "b": 2}}}""")).get("id").asText();

        JsonNode answered = patch("/v1/characters/" + id, """
                {"traits": {"stance": {"dogs": "love"}}, "metadata": {"tier": null, "tags": {"b": null, "c": 3}}}""");
        JsonNode read = api.getOk("/v1/characters/" + id);

        for (JsonNode character : new JsonNode[] {answered, read}) {
            assertThat(character.get("traits")).isEqualTo(json("""
                    {"energy": "calm", "stance": {"cats": "love", "dogs": "love"}}"""));
            assertThat(character.get("metadata")).isEqualTo(json("""
                    {"avatar": "luna.png", "tags": {"a": 1, "c": 3}}"""));
            assertThat(character.get("name").asText()).isEqualTo("Luna");
        }
    }

    @Test
    void a_user_patch_merges_the_profile() {
        JsonNode user = api.postOk(201, "/v1/users", json("""
                {"external_id": "merge-%d", "profile": {"name": "Ann", "prefs": {"lang": "en", "tz": "UTC"}}}"""
                .formatted(System.nanoTime())));
        String id = user.get("id").asText();

        JsonNode answered = patch("/v1/users/" + id, """
                {"profile": {"prefs": {"tz": null, "theme": "dark"}, "plan": "pro"}}""");
        JsonNode read = api.getOk("/v1/users/" + id);

        for (JsonNode patched : new JsonNode[] {answered, read}) {
            assertThat(patched.get("profile")).isEqualTo(json("""
                    {"name": "Ann", "plan": "pro", "prefs": {"lang": "en", "theme": "dark"}}"""));
            assertThat(patched.get("external_id")).isEqualTo(user.get("external_id"));
        }
    }

    @Test
    void a_conversation_patch_merges_the_state() {
        String id = api.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(api, "state-" + System.nanoTime()),
                "character_id", Fixtures.character(api, "Luna"),
                "state", json("{\"mood\": \"happy\", \"quest\": {\"step\": 1, \"item\": \"key\"}}"))).get("id").asText();

        patch("/v1/conversations/" + id, "{\"state\": {\"mood\": null, \"quest\": {\"step\": 2}}}");

        assertThat(api.getOk("/v1/conversations/" + id).get("state"))
                .isEqualTo(json("{\"quest\": {\"step\": 2, \"item\": \"key\"}}"));
    }

    @Test
    void a_merge_that_would_outgrow_the_limit_is_refused_and_changes_nothing() {
        String id = Fixtures.character(api, "Luna");
        String half = "x".repeat(9_000); // two of these are over the 16 KiB default (PARLEY_MAX_METADATA)
        patch("/v1/characters/" + id, "{\"metadata\": {\"first\": \"" + half + "\"}}");

        Api.Response response = api.patch("/v1/characters/" + id, "{\"metadata\": {\"second\": \"" + half + "\"}}");

        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("metadata");
        assertThat(api.getOk("/v1/characters/" + id).get("metadata").properties()).extracting(Map.Entry::getKey)
                .containsExactly("first");
    }

    @Test
    void a_user_patch_needs_a_profile_object() {
        String id = Fixtures.user(api, "no-profile-" + System.nanoTime());

        for (String body : new String[] {"{}", "{\"profile\": null}", "{\"profile\": [1]}"}) {
            Api.Response response = api.patch("/v1/users/" + id, body);
            assertThat(response.status()).as(body + ": " + response).isEqualTo(400);
            assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("profile");
        }
        assertThat(api.getOk("/v1/users/" + id).get("version").asLong()).isEqualTo(1);
    }

    @Test
    void a_patch_without_the_document_leaves_it_as_it_is() {
        String id = api.postOk(201, "/v1/characters", json("{\"name\": \"Luna\", \"traits\": {\"energy\": \"calm\"}}"))
                .get("id").asText();

        patch("/v1/characters/" + id, "{\"name\": \"Luna II\"}");

        assertThat(api.getOk("/v1/characters/" + id).get("traits")).isEqualTo(json("{\"energy\": \"calm\"}"));
    }

    @Test
    void a_null_for_a_field_that_cannot_be_removed_and_a_patch_of_nothing_are_refused_and_change_nothing() {
        String character = api.postOk(201, "/v1/characters", json("{\"name\": \"Luna\", \"metadata\": {\"a\": 1}}"))
                .get("id").asText();
        String user = Fixtures.user(api, "ada");
        String memory = api.postOk(201, "/v1/users/" + user + "/memories", json("""
                {"character_id": "%s", "content": "likes tea", "metadata": {"a": 1}}""".formatted(character))).get("id").asText();
        String conversation = Fixtures.conversation(api, user, character);
        String message = api.postOk(201, "/v1/conversations/" + conversation + "/messages",
                json("{\"role\": \"user\", \"content\": \"hi\"}")).get("id").asText();
        JsonNode characterBefore = api.getOk("/v1/characters/" + character);
        JsonNode memoryBefore = api.getOk("/v1/memories/" + memory);

        for (String field : List.of("name", "system_prompt", "traits", "metadata", "suggested_messages")) {
            assertThat(refused(api.patch("/v1/characters/" + character, "{\"" + field + "\": null}"))).as(field).isEqualTo(field);
        }
        for (String field : List.of("content", "importance", "metadata", "embedding")) {
            assertThat(refused(api.patch("/v1/memories/" + memory, "{\"" + field + "\": null}"))).as(field).isEqualTo(field);
        }
        assertThat(refused(api.patch("/v1/conversations/" + conversation + "/messages/" + message, "{\"content\": null}")))
                .as("a message's text goes by deleting the message").isEqualTo("content");
        JsonNode conversationBefore = api.getOk("/v1/conversations/" + conversation);
        assertThat(refused(api.patch("/v1/conversations/" + conversation, "{\"state\": null}")))
                .as("a state is emptied key by key, as a merge patch does").isEqualTo("state");
        for (String path : List.of("/v1/characters/" + character, "/v1/memories/" + memory,
                "/v1/conversations/" + conversation + "/messages/" + message, "/v1/conversations/" + conversation)) {
            Api.Response empty = api.patch(path, "{}");
            assertThat(empty.status()).as(path).isEqualTo(400);
            assertThat(empty.json().get("detail").asText()).as(path).startsWith("the body changes nothing: give at least one of ");
        }

        assertThat(api.getOk("/v1/characters/" + character)).as("no version moved for nothing").isEqualTo(characterBefore);
        assertThat(api.getOk("/v1/memories/" + memory)).isEqualTo(memoryBefore);
        assertThat(api.getOk("/v1/conversations/" + conversation)).as("no version moved for nothing").isEqualTo(conversationBefore);
        patch("/v1/conversations/" + conversation, "{\"title\": \"Stargazing\"}");
        assertThat(patch("/v1/conversations/" + conversation, "{\"title\": null}").get("title").isNull())
                .as("a title may be cleared: null is a change there").isTrue();
    }

    private static String refused(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().get("detail").asText()).contains("cannot be null");
        return response.json().get("errors").get(0).get("field").asText();
    }

    private JsonNode patch(String path, String body) {
        Api.Response response = api.patch(path, body);
        assertThat(response.status()).as("PATCH " + path + ": " + response).isEqualTo(200);
        return response.json();
    }

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }
}
