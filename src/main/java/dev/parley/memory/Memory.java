package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.time.Instant;

/**
 * A long-term fact a character keeps about a user; {@code dims} is its embedding's length, null without one;
 * {@code conversationId} the conversation it was learnt in, when known; {@code externalId} the id an import gave it
 * (null for one written through the API).
 */
public record Memory(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        @Nullable String externalId,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long characterId,
        @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long conversationId,
        String content,
        float importance,
        String language,
        JsonText metadata,
        @Nullable Integer dims,
        Instant createdAt,
        Instant updatedAt) {
    /** A memory's importance when none is given (0 to 1). */
    public static final double DEFAULT_IMPORTANCE = 0.5;

    /**
     * What a client gives to store a memory; {@code embedding} is unit length or null, {@code conversationId}
     * the conversation it came from or null, {@code createdAt} its original time (imports) or null for now.
     */
    public record Draft(long characterId, Long conversationId, String content, double importance, String language,
                        JsonNode metadata, float[] embedding, Instant createdAt) {
    }

    /** A partial update: a null field keeps the stored value. */
    public record Change(String content, Double importance, JsonNode metadata, float[] embedding) {
    }
}
