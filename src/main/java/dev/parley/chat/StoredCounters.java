package dev.parley.chat;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.json.JsonText;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A holder's counters as PostgreSQL stored them, read for the values increments start from: the
 * 64-bit integers, and the names an increment must refuse (a value written by hand that is no
 * integer, or too large for 64 bits), refused as the database's own UPDATE would refuse them.
 */
record StoredCounters(Map<String, Long> integers, Set<String> tooLarge, Set<String> notIntegers, boolean notAnObject) {
    static final StoredCounters NONE = new StoredCounters(Map.of(), Set.of(), Set.of(), false);

    // Stored documents may hold what no client could send (numbers of 100,000 digits, nesting thousands
    // deep): this reader has no limits, keeps every digit, and writes decimals as PostgreSQL does, in full.
    private static final ObjectMapper EXACT = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();

    static {
        EXACT.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).maxStringLength(Integer.MAX_VALUE).build());
    }

    /** The counters of {@code document}, a jsonb object as PostgreSQL rendered it. */
    static StoredCounters of(JsonText document) {
        JsonNode counters = parse(document);
        if (!counters.isObject()) {
            return new StoredCounters(Map.of(), Set.of(), Set.of(), true);
        }
        Map<String, Long> integers = new HashMap<>();
        Set<String> tooLarge = new HashSet<>();
        Set<String> notIntegers = new HashSet<>();
        counters.properties().forEach(counter -> {
            JsonNode value = counter.getValue();
            if (!value.isIntegralNumber()) {
                notIntegers.add(counter.getKey());
            } else if (value.canConvertToLong()) {
                integers.put(counter.getKey(), value.longValue());
            } else {
                tooLarge.add(counter.getKey());
            }
        });
        return new StoredCounters(integers, tooLarge, notIntegers, false);
    }

    /** Whether the document holds a counter of {@code name}, whatever its value. */
    boolean has(String name) {
        return integers.containsKey(name) || tooLarge.contains(name) || notIntegers.contains(name);
    }

    /** How many counters the document holds. */
    int size() {
        return integers.size() + tooLarge.size() + notIntegers.size();
    }

    /** The stored value an increment of {@code name} starts from (0 when absent), or the refusal the database would give. */
    long value(String name) {
        if (notAnObject) {
            throw new Conflict("counter-not-an-integer", "the stored counters are not a JSON object, so none of them can "
                    + "be incremented; fix them in the database");
        }
        if (notIntegers.contains(name)) {
            throw new Conflict("counter-not-an-integer", "counter " + name + " holds a stored value that is not an integer, "
                    + "so it cannot be incremented; fix it in the database");
        }
        if (tooLarge.contains(name)) {
            throw new InvalidInput("increments." + name, "names a counter whose stored value is beyond the 64-bit integer range");
        }
        return integers.getOrDefault(name, 0L);
    }

    /** {@code document} with {@code values} in place of its own (added where it has none); other members as stored. */
    static JsonText overlay(JsonText document, Map<String, Long> values) {
        JsonNode counters = parse(document);
        if (!(counters instanceof ObjectNode object)) {
            return document; // no increment of it was accepted, so there is nothing to show over it
        }
        values.forEach(object::put);
        try {
            return new JsonText(EXACT.writeValueAsString(object));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("could not write counters", e);
        }
    }

    private static JsonNode parse(JsonText document) {
        try {
            return EXACT.readTree(document.text());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("counters from PostgreSQL could not be read", e);
        }
    }
}
