package dev.parley.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/** The JSON bodies requests carry. Unknown fields are refused; ids may be strings of digits or numbers. */
final class Bodies {
    private Bodies() {
    }

    /** Create: {@code name} is required. Update: every field is optional and a given field replaces the stored one. */
    record CharacterInput(String name, String systemPrompt, JsonNode traits, JsonNode metadata, List<String> suggestedMessages) {
    }

    /** Upsert by the app's own id for the user; a given profile replaces the stored one. */
    record UserInput(String externalId, JsonNode profile) {
    }

    /** A direct chat names {@code character_id}; a group chat names {@code character_ids} (the first leads). */
    record ConversationInput(Long userId, Long characterId, List<Long> characterIds, String title, JsonNode state,
                             Map<String, Long> counters) {
    }

    /** {@code state} is a JSON merge patch (RFC 7396); {@code title} set to null clears it. */
    record ConversationPatch(JsonNode title, JsonNode state) {
    }

    /** Signed amounts to add to named counters, such as {"affection": 5, "xp": -2}. */
    record CounterIncrements(Map<String, Long> increments) {
    }

    /** One message to append. In a batch each may carry its own {@code idempotency_key}. */
    record MessageInput(String role, String content, Long characterId, JsonNode metadata, JsonNode attachments,
                        Long replyToId, String idempotencyKey) {
    }

    record MessageBatch(List<MessageInput> messages) {
    }

    /** A given field replaces the stored one; metadata or attachments set to null clear them. */
    record MessageEdit(String content, JsonNode metadata, JsonNode attachments) {
    }

    /** Marks read up to and including {@code message_id}, for the user or, if given, one character (bots read too). */
    record ReadInput(Long messageId, Long characterId) {
    }
}
