package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.json.JsonText;
import java.time.Instant;

/** An end user of the app, known to the app by its own external id. */
public record User(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        String externalId,
        JsonText profile,
        Instant createdAt,
        Instant updatedAt) {
}
