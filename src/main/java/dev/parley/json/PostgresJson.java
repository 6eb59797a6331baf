package dev.parley.json;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Map;

/**
 * A JSON document as PostgreSQL's jsonb keeps it: numbers become {@code numeric} and are written
 * back in plain notation ({@code 1e999} reads back as a 1 and 999 zeros), and the text it reads back
 * puts a space after every colon and comma. Limits are checked against that text, the size a read
 * returns, not against what the client happened to send.
 */
public final class PostgresJson {
    /**
     * The longest number stored, in characters as PostgreSQL writes it: the same bound Jackson and
     * other common parsers apply by default, so every number Parley returns can be read back.
     */
    public static final int MAX_NUMBER_CHARS = 1000;

    private PostgresJson() {
    }

    /** The characters PostgreSQL writes for this number: sign, digits and decimal point, never an exponent. */
    public static long numberChars(JsonNode number) {
        BigDecimal value = number.decimalValue();
        long digits = value.precision();
        long scale = value.scale();
        long sign = value.signum() < 0 ? 1 : 0;
        if (scale <= 0) {
            return sign + (value.signum() == 0 ? 1 : digits - scale);
        }
        return sign + (scale >= digits ? scale + 2 : digits + 1); // "0.000ddd" or "ddd.ddd"
    }

    /** The UTF-8 bytes of the document's text as PostgreSQL returns it. */
    public static long renderedBytes(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT -> container(node.size()) + fields(node);
            case ARRAY -> container(node.size()) + elements(node);
            case STRING -> stringBytes(node.textValue());
            case NUMBER -> numberChars(node);
            case BOOLEAN -> node.booleanValue() ? 4 : 5;
            default -> 4; // null
        };
    }

    /** Brackets, and ", " between members. */
    private static long container(int members) {
        return 2 + 2L * Math.max(0, members - 1);
    }

    private static long fields(JsonNode object) {
        long bytes = 0;
        for (Map.Entry<String, JsonNode> field : object.properties()) {
            bytes += stringBytes(field.getKey()) + 2 + renderedBytes(field.getValue()); // "key": value
        }
        return bytes;
    }

    private static long elements(JsonNode array) {
        long bytes = 0;
        for (JsonNode element : array) {
            bytes += renderedBytes(element);
        }
        return bytes;
    }

    /** A quoted string with PostgreSQL's escapes: \" \\ \b \f \n \r \t, \\u00XX for other control characters. */
    static long stringBytes(String text) {
        long bytes = 2;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
                bytes += 2;
            } else if (c < 0x20) {
                bytes += 6;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
            }
        }
        return bytes;
    }
}
