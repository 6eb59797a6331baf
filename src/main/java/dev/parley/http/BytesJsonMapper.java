package dev.parley.http;

import dev.parley.json.Json;
import io.javalin.json.JsonMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Type;

/**
 * Serialises responses straight to UTF-8 bytes with Parley's one ObjectMapper. Javalin's own Jackson
 * mapper streams through a pipe fed by a second (virtual) thread, which cost more than the JSON itself
 * for the small bodies an API returns (measured with JFR under parley bench).
 */
final class BytesJsonMapper implements JsonMapper {
    @Override
    public String toJsonString(Object value, Type type) {
        return Json.write(value);
    }

    @Override
    public InputStream toJsonStream(Object value, Type type) {
        return new ByteArrayInputStream(Json.writeBytes(value));
    }
}
