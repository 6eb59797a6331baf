package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.Versioned;
import dev.parley.input.Check;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.time.Instant;
import java.util.List;

/**
 * An AI persona: who speaks, with which system prompt and traits; {@code version} moves with each update.
 * {@code externalId} is the id an import gave it (null for one made through the API).
 */
public record CharacterProfile(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        @Nullable String externalId,
        String name,
        String systemPrompt,
        JsonText traits,
        JsonText metadata,
        List<String> suggestedMessages,
        Instant createdAt,
        Instant updatedAt,
        long version) implements Versioned {

    /**
     * The fields a create or update may set; a null field is left as it is (update) or defaulted (create).
     * On update, {@code traits} and {@code metadata} are JSON merge patches (RFC 7396).
     */
    public record Draft(String name, String systemPrompt, JsonNode traits, JsonNode metadata, List<String> suggestedMessages) {
    }

    /** {@code suggested}, checked as the API and an import take it: at most 20 texts, each of at most {@code maxBytes}. */
    public static List<String> suggestedMessages(List<String> suggested, int maxBytes) {
        if (suggested == null) {
            return null;
        }
        if (suggested.size() > Limits.MAX_SUGGESTED_MESSAGES) {
            throw new InvalidInput("suggested_messages", "has " + suggested.size() + " entries; the limit is "
                    + Limits.MAX_SUGGESTED_MESSAGES);
        }
        for (int i = 0; i < suggested.size(); i++) {
            Check.required("suggested_messages[" + i + "]", suggested.get(i), maxBytes);
        }
        return suggested;
    }
}
