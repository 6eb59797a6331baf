package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.JsonText;
import java.time.Instant;

/** A long-term fact a character keeps about a user; {@code dims} is its embedding's length, null without one. */
public record Memory(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long characterId,
        String content,
        float importance,
        String language,
        JsonText metadata,
        Integer dims,
        Instant createdAt,
        Instant updatedAt) {

    /** What a client gives to store a memory; {@code embedding} is unit length or null. */
    public record Draft(long characterId, String content, double importance, String language, JsonNode metadata,
                        float[] embedding) {
    }

    /** A partial update: a null field keeps the stored value. */
    public record Change(String content, Double importance, JsonNode metadata, float[] embedding) {
    }
}
