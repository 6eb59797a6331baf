package dev.parley.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** Small builders for the objects most tests need: a character, a user, a conversation, messages. */
public final class Fixtures {
    private Fixtures() {
    }

    public static String character(Api api, String name) {
        return api.postOk(201, "/v1/characters", Map.of("name", name, "system_prompt", "You are " + name + "."))
                .get("id").asText();
    }

    public static String user(Api api, String externalId) {
        return api.postOk(201, "/v1/users", Map.of("external_id", externalId)).get("id").asText();
    }

    public static String conversation(Api api, String userId, String characterId) {
        return api.postOk(201, "/v1/conversations", Map.of("user_id", userId, "character_id", characterId))
                .get("id").asText();
    }

    /** A user, a character and a conversation between them; returns the conversation. */
    public static JsonNode conversation(Api api) {
        String character = character(api, "Luna");
        String user = user(api, "user-" + System.nanoTime());
        return api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character));
    }

    /** Adds {@code userId} to the conversation as a guest (it becomes a group); returns the member. */
    public static JsonNode join(Api api, String conversationId, String userId) {
        return api.postOk(201, "/v1/conversations/" + conversationId + "/members", Map.of("user_id", userId));
    }

    public static JsonNode say(Api api, String conversationId, String role, String content) {
        return api.postOk(201, "/v1/conversations/" + conversationId + "/messages", Map.of("role", role, "content", content));
    }
}
