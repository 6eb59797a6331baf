package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.cache.Versioned;
import dev.parley.json.JsonText;
import java.time.Instant;

/** An end user of the app, known to the app by its own external id; {@code counters} are its named integers (XP, level). */
public record User(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        String externalId,
        JsonText profile,
        JsonText counters,
        Instant createdAt,
        Instant updatedAt,
        long version) implements Versioned {

    /** This user with other counters: the running ones of this instance. */
    public User withCounters(JsonText shown) {
        return new User(id, externalId, profile, shown, createdAt, updatedAt, version);
    }
}
