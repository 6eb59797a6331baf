package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.Versioned;
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
}
