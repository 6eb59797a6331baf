package dev.parley.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import java.io.IOException;

/**
 * A JSON document kept as text and written into responses as it is. Documents read from jsonb
 * columns are never parsed: whatever PostgreSQL holds (a number of 100,000 digits, nesting
 * thousands deep) reads back, and the response is not built from a tree first.
 */
public record JsonText(String text) implements JsonSerializable {
    public JsonText {
        if (text == null) {
            throw new IllegalArgumentException("a JsonText needs text; use null for no document");
        }
    }

    /** The document PostgreSQL rendered, or null for SQL NULL. */
    public static JsonText stored(String text) {
        return text == null ? null : new JsonText(text);
    }

    /** A checked request document as Parley sends it to PostgreSQL, or null for none (absent or JSON null). */
    public static JsonText of(JsonNode node) {
        return node == null || node.isNull() ? null : new JsonText(Json.write(node));
    }

    @Override
    public void serialize(JsonGenerator generator, SerializerProvider provider) throws IOException {
        generator.writeRawValue(text);
    }

    @Override
    public void serializeWithType(JsonGenerator generator, SerializerProvider provider, TypeSerializer typeSerializer)
            throws IOException {
        serialize(generator, provider);
    }

    /** The text itself, as bound to a {@code ?::jsonb} parameter. */
    @Override
    public String toString() {
        return text;
    }
}
