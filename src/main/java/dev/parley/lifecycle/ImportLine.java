package dev.parley.lifecycle;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.chat.InvalidInput;
import dev.parley.input.Check;
import dev.parley.input.OriginalTime;
import dev.parley.json.Json;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One NDJSON line of an import, read as strictly as a request body: a key given twice, a field its type does
 * not take, or a value of the wrong type is refused, and each field passes the API's own {@link Check}s,
 * so an import stores nothing that the API would refuse or that a later read could not serve.
 */
final class ImportLine {
    // {"content":"a","content":"b"} is ambiguous, as in a body: refuse it rather than keep one of the two.
    private static final ObjectReader STRICT = Json.MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    /** The fields each type of line takes. */
    static final Map<String, Set<String>> FIELDS = Map.of(
            "character", Set.of("type", "external_id", "name", "system_prompt", "traits", "metadata", "suggested_messages",
                    "created_at"),
            "user", Set.of("type", "external_id", "profile", "created_at"),
            "conversation", Set.of("type", "external_id", "user", "character", "title", "state", "language", "created_at"),
            "message", Set.of("type", "conversation", "external_id", "role", "content", "created_at", "user", "character",
                    "metadata", "attachments"),
            "memory", Set.of("type", "external_id", "user", "character", "conversation", "content", "importance", "language",
                    "metadata", "embedding", "created_at"));

    final String type;
    private final JsonNode node;

    private ImportLine(String type, JsonNode node) {
        this.type = type;
        this.node = node;
    }

    /** The line read and its fields named; an {@link InvalidInput} naming what is wrong when it is no such line. */
    static ImportLine parse(String text) {
        JsonNode node;
        try {
            node = STRICT.readTree(text);
        } catch (JsonProcessingException e) {
            if (Check.isKeyWithUnpairedSurrogate(e)) { // as a request's key, and as a lone surrogate in a value
                String where = Check.where(e);
                throw Check.keyWithUnpairedSurrogate(where.isEmpty() ? "line" : where);
            }
            throw new InvalidInput("line", "is not one JSON object: " + Check.withoutJavaNames(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new InvalidInput("line", "must be a JSON object with a type");
        }
        var line = new ImportLine(null, node);
        String type = line.required("type", Integer.MAX_VALUE);
        Set<String> known = FIELDS.get(type);
        if (known == null) {
            throw new InvalidInput("type", "must be character, user, conversation, message or memory, got '" + printable(type) + "'");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new InvalidInput(printable(name), "is not a field of a " + type + " line; known fields: "
                        + known.stream().sorted().toList());
            }
        }
        return new ImportLine(type, node);
    }

    /** A string that must be given, not blank, of at most {@code maxBytes}. */
    String required(String field, int maxBytes) {
        String value = text(field, maxBytes);
        if (value == null) {
            throw new InvalidInput(field, "is required, as a non-empty string");
        }
        return Check.requiredNonBlank(field, value, maxBytes);
    }

    /** A string that may be absent (null), else storable text of at most {@code maxBytes}. */
    String text(String field, int maxBytes) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidInput(field, "must be a string");
        }
        return Check.text(field, value.textValue(), maxBytes);
    }

    /** A string that may be absent (null), else as {@link #required}: a reference to a row by its external id. */
    String optional(String field, int maxBytes) {
        return text(field, maxBytes) == null ? null : required(field, maxBytes);
    }

    /** A string that must be given, and may be empty (a message's content, as an append takes it). */
    String requiredText(String field, int maxBytes) {
        return Check.required(field, text(field, maxBytes), maxBytes);
    }

    /** An optional list of strings, or null; each item named by its place when it is no string. */
    List<String> texts(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isArray()) {
            throw new InvalidInput(field, "must be a list of strings");
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            if (!value.get(i).isTextual()) {
                throw new InvalidInput(field + "[" + i + "]", "must be a string");
            }
            texts.add(value.get(i).textValue());
        }
        return texts;
    }

    /** An optional JSON object, or null. */
    JsonNode object(String field, int maxBytes) {
        return Check.object(field, node.get(field), maxBytes);
    }

    /** An optional JSON value of any shape, or null. */
    JsonNode json(String field, int maxBytes) {
        return Check.json(field, node.get(field), maxBytes);
    }

    /** An optional number from {@code min} to {@code max}, or {@code fallback} when absent. */
    double number(String field, double min, double max, double fallback) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isNumber() || value.asDouble() < min || value.asDouble() > max) {
            throw new InvalidInput(field, "must be a number from " + min + " to " + max);
        }
        return value.asDouble();
    }

    /** An original time, as the API takes one ({@link OriginalTime}), or null when absent. */
    Instant time(String field, Clock clock) {
        return OriginalTime.of(field, text(field, Integer.MAX_VALUE), clock);
    }

    JsonNode raw(String field) {
        return node.get(field);
    }

    /** At most 40 characters of {@code text}, controls and lone surrogates as '?', safe to echo in a report. */
    private static String printable(String text) {
        String shown = text.codePoints().limit(40)
                .map(c -> Character.isISOControl(c) || (c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return shown.length() < text.length() ? shown + "…" : shown;
    }
}
