package dev.parley.input;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.json.PostgresJson;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Field checks shared by every handler. Text that PostgreSQL cannot store (NUL characters, lone
 * UTF-16 surrogates) is refused here, with the field's name, instead of failing in the database. The import
 * ({@code dev.parley.lifecycle.Import}) checks its lines with these too, so the two cannot drift apart.
 */
public final class Check {
    public static final int MAX_COUNTERS = Limits.MAX_COUNTERS;
    public static final int MAX_COUNTER_NAME_BYTES = 100;

    private Check() {
    }

    public static String required(String field, String value, int maxBytes) {
        if (value == null) {
            throw new InvalidInput(field, "is required");
        }
        return text(field, value, maxBytes);
    }

    public static String requiredNonBlank(String field, String value, int maxBytes) {
        required(field, value, maxBytes);
        if (value.isBlank()) {
            throw new InvalidInput(field, "must not be blank");
        }
        return value;
    }

    /** The words of a problem whose text holds a NUL character, after "contains". */
    private static final String NUL = "a NUL character (\\u0000), which cannot be stored";
    /** The words of a problem whose text holds a lone surrogate, after "contains". */
    private static final String UNPAIRED = "an unpaired UTF-16 surrogate, which is not valid Unicode";
    /**
     * How a problem with a key reads, after the name of the object that holds it: a key cannot name itself (it may
     * be unprintable, or, with a lone surrogate, never reach Parley as text), so its object is named.
     */
    private static final String IN_A_KEY = "has a key that contains ";

    /** Null passes (the field is optional); anything else must be storable text within {@code maxBytes} UTF-8 bytes. */
    public static String text(String field, String value, int maxBytes) {
        if (value == null) {
            return null;
        }
        long bytes = utf8Bytes(field, value, "contains ");
        if (bytes > maxBytes) {
            throw new InvalidInput(field, "is " + bytes + " bytes (UTF-8); the limit is " + maxBytes);
        }
        return value;
    }

    /** A key of the JSON object {@code object} names: storable text, or the object is refused as holding a key that is not. */
    public static String key(String object, String key) {
        utf8Bytes(object, key, IN_A_KEY);
        return key;
    }

    /** The refusal of a key of {@code object} that escapes a lone surrogate: see {@link #isKeyWithUnpairedSurrogate}. */
    public static InvalidInput keyWithUnpairedSurrogate(String object) {
        return new InvalidInput(object, IN_A_KEY + UNPAIRED);
    }

    /** One or more of 0-9: Long.parseLong and Integer.parseInt also read other scripts' digits ('٢', '５') and a sign. */
    public static boolean isAsciiDigits(String raw) {
        return !raw.isEmpty() && raw.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /**
     * Whether the JSON reader refused a key because it escapes a lone surrogate ({@code "\\ud800"}). It does so as it
     * reads the key, as a parse error, where it takes one in a value; the JSON is well-formed, so it is refused as a
     * value's is, naming the object that holds the key ({@link #where}).
     */
    public static boolean isKeyWithUnpairedSurrogate(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        return message != null && message.contains("surrogate") && message.contains("in field name");
    }

    /** Where the JSON reader stood when it failed, in a request's own notation ({@code messages[2].metadata}); empty at the top. */
    public static String where(JsonProcessingException e) {
        return e.getProcessor() instanceof JsonParser parser ? path(parser.getParsingContext()) : "";
    }

    private static String path(JsonStreamContext context) {
        List<String> steps = new ArrayList<>();
        for (JsonStreamContext at = context; at != null && at.getParent() != null; at = at.getParent()) {
            JsonStreamContext parent = at.getParent();
            if (parent.inArray()) {
                steps.addFirst("[" + parent.getCurrentIndex() + "]");
            } else if (parent.inObject()) {
                steps.addFirst("." + parent.getCurrentName());
            }
        }
        return String.join("", steps).replaceFirst("^\\.", "");
    }

    /** The UTF-8 length of storable text; otherwise {@code field} is refused, its problem phrased after {@code contains}. */
    private static long utf8Bytes(String field, String value, String contains) {
        long bytes = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0) {
                throw new InvalidInput(field, contains + NUL);
            }
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new InvalidInput(field, contains + UNPAIRED);
            } else {
                bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
            }
        }
        return bytes;
    }

    /** Optional JSON object: must be an object (not an array or scalar), storable, and at most {@code maxBytes}. */
    public static JsonNode object(String field, JsonNode node, int maxBytes) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new InvalidInput(field, "must be a JSON object");
        }
        return json(field, node, maxBytes);
    }

    /**
     * Optional JSON value of any shape: storable, and at most {@code maxBytes} as PostgreSQL will
     * write it back (numbers in plain notation), which is what every later read returns.
     */
    public static JsonNode json(String field, JsonNode node, int maxBytes) {
        if (node == null || node.isNull()) {
            return null;
        }
        storable(field, node);
        long size = PostgresJson.renderedBytes(node);
        if (size > maxBytes) {
            throw new InvalidInput(field, "is " + size + " bytes of JSON as stored (numbers written out in full); the limit is "
                    + maxBytes);
        }
        return node;
    }

    public static long positive(String field, Long value) {
        if (value == null) {
            throw new InvalidInput(field, "is required");
        }
        if (value <= 0) {
            throw new InvalidInput(field, "must be a positive id, got " + value);
        }
        return value;
    }

    public static Long optionalPositive(String field, Long value) {
        return value == null ? null : positive(field, value);
    }

    /** Named integer counters: at most 100, each named by non-blank text of at most 100 bytes, each with a value. */
    public static Map<String, Long> counters(String field, Map<String, Long> counters) {
        if (counters.size() > MAX_COUNTERS) {
            throw new InvalidInput(field, "has " + counters.size() + " counters; the limit is " + MAX_COUNTERS);
        }
        counters.forEach((name, value) -> {
            key(field, name);
            requiredNonBlank(field + "." + name, name, MAX_COUNTER_NAME_BYTES);
            if (value == null) {
                throw new InvalidInput(field + "." + name, "must be an integer");
            }
        });
        return counters;
    }

    /** The increments of a counters request (a conversation's or a user's): at least one named counter. */
    public static Map<String, Long> increments(Map<String, Long> increments) {
        if (increments == null || increments.isEmpty()) {
            throw new InvalidInput("increments", "must name at least one counter, such as {\"affection\": 5}");
        }
        return counters("increments", increments);
    }

    private static void storable(String field, JsonNode node) {
        if (node.isTextual()) {
            text(field, node.textValue(), Integer.MAX_VALUE);
        } else if (node.isNumber()) {
            long chars = PostgresJson.numberChars(node);
            if (chars > PostgresJson.MAX_NUMBER_CHARS) {
                throw new InvalidInput(field, "is a number " + chars + " characters long written out in full, as PostgreSQL "
                        + "stores it; the limit is " + PostgresJson.MAX_NUMBER_CHARS);
            }
        } else if (node.isContainerNode()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                var entry = fields.next();
                key(field, entry.getKey());
                storable(field + "." + entry.getKey(), entry.getValue());
            }
            if (node.isArray()) {
                for (int i = 0; i < node.size(); i++) {
                    storable(field + "[" + i + "]", node.get(i));
                }
            }
        }
    }

    /**
     * The value as it may safely be echoed in an API error: at most 40 characters, controls as '?'. A lone surrogate
     * stays, for the problem's writer to show as its escape (http.Problem).
     */
    public static String printable(String raw) {
        String shown = raw.length() > 40 ? raw.substring(0, 40) + "..." : raw;
        return shown.replaceAll("\\p{Cntrl}", "?");
    }

    /**
     * The JSON reader's message as a client can act on it: without the Java names of the settings and methods it
     * mentions (a limit's numbers stay), which a client can neither see nor change.
     */
    public static String withoutJavaNames(String message) {
        return message.replaceAll(", from `[^`]*`", "")
                .replaceAll(": enable `[^`]*` to allow", "") // NaN, Infinity, a leading + or 0: JSON has none of them
                .replaceAll(" \\(not recognized as one since Feature '[^']*' not enabled for parser\\)", "")
                .replaceAll(" \\(bound as `[^`]*`\\)", "")
                .replaceAll(": not allowed as per `[^`]*`", "")
                .replaceAll(" \\(start marker at \\[Source: [^\\]]*\\]\\)", ""); // a body cut short: where its object began
    }
}
