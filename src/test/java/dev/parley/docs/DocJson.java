package dev.parley.docs;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * JSON as a document shows it: real JSON where {@code ...} may stand for a value ({@code "user":{...}}),
 * for keys left out of an object, or for elements left out of an array, optionally with words up to a
 * second {@code ...} ({@code ... the same message ...}). An answer matches it when it has the shape
 * shown: every key shown, no key that is not shown unless the object has a {@code ...}, the type of
 * each value (string, number, boolean, null, object, array) as shown, and every element of an array
 * like one of the elements shown (an array shown empty or as {@code [...]} says nothing of its elements).
 * Values themselves are not compared: ids, times and counts differ from run to run.
 */
sealed interface DocJson {
    record Anything() implements DocJson {
    }

    record Obj(Map<String, DocJson> members, boolean more) implements DocJson {
    }

    record Arr(List<DocJson> elements) implements DocJson {
    }

    record Str(String value) implements DocJson {
    }

    record Num(String text) implements DocJson {
    }

    record Bool() implements DocJson {
    }

    record Null() implements DocJson {
    }

    /** The value as a document shows it; a syntax error names the line and column within {@code text}. */
    static DocJson parse(String text) {
        var parser = new Parser(text);
        DocJson value = parser.value();
        parser.skipSpace();
        if (!parser.atEnd()) {
            throw parser.error("text after the JSON value");
        }
        return value;
    }

    /** Why {@code real} does not have the shape shown, or empty when it does. */
    static Optional<String> mismatch(DocJson shown, JsonNode real) {
        return mismatch(shown, real, "$");
    }

    private static Optional<String> mismatch(DocJson shown, JsonNode real, String path) {
        return switch (shown) {
            case Anything any -> Optional.empty();
            case Obj obj -> real.isObject() ? objectMismatch(obj, real, path) : typeMismatch(path, "an object", real);
            case Arr arr -> real.isArray() ? arrayMismatch(arr, real, path) : typeMismatch(path, "an array", real);
            case Str str -> real.isTextual() ? Optional.empty() : typeMismatch(path, "a string", real);
            case Num num -> real.isNumber() ? Optional.empty() : typeMismatch(path, "a number", real);
            case Bool bool -> real.isBoolean() ? Optional.empty() : typeMismatch(path, "a boolean", real);
            case Null nul -> real.isNull() ? Optional.empty() : typeMismatch(path, "null", real);
        };
    }

    private static Optional<String> objectMismatch(Obj shown, JsonNode real, String path) {
        for (var member : shown.members().entrySet()) {
            if (!real.has(member.getKey())) {
                return Optional.of(path + ": shows key '" + member.getKey() + "', the answer has none");
            }
            var inner = mismatch(member.getValue(), real.get(member.getKey()), path + "." + member.getKey());
            if (inner.isPresent()) {
                return inner;
            }
        }
        if (!shown.more()) {
            for (Iterator<String> keys = real.fieldNames(); keys.hasNext(); ) {
                String key = keys.next();
                if (!shown.members().containsKey(key)) {
                    return Optional.of(path + ": the answer has key '" + key + "', not shown (show it, or '...' for keys left out)");
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<String> arrayMismatch(Arr shown, JsonNode real, String path) {
        if (shown.elements().isEmpty()) {
            return Optional.empty();
        }
        for (int i = 0; i < real.size(); i++) {
            JsonNode element = real.get(i);
            String at = path + "[" + i + "]";
            if (shown.elements().stream().noneMatch(s -> mismatch(s, element, at).isEmpty())) {
                DocJson nearest = shown.elements().get(Math.min(i, shown.elements().size() - 1));
                return Optional.of(mismatch(nearest, element, at).orElseThrow() + " (like no element shown)");
            }
        }
        return Optional.empty();
    }

    private static Optional<String> typeMismatch(String path, String shown, JsonNode real) {
        return Optional.of(path + ": shows " + shown + ", the answer has " + real.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                + " " + abbreviate(real.toString()));
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }

    /** A recursive-descent reader of shown JSON, lenient about commas next to an ellipsis. */
    final class Parser {
        private final String text;
        private int at;

        Parser(String text) {
            this.text = text;
        }

        DocJson value() {
            skipSpace();
            if (atEllipsis()) {
                skipEllipsis();
                return new Anything();
            }
            if (atEnd()) {
                throw error("a value is missing");
            }
            char c = text.charAt(at);
            return switch (c) {
                case '{' -> object();
                case '[' -> array();
                case '"' -> new Str(string());
                case 't', 'f' -> literal(c == 't' ? "true" : "false", new Bool());
                case 'n' -> literal("null", new Null());
                default -> number();
            };
        }

        private DocJson object() {
            at++;
            Map<String, DocJson> members = new LinkedHashMap<>();
            boolean more = false;
            while (true) {
                skipSpace();
                if (atEnd()) {
                    throw error("an object is not closed");
                } else if (text.charAt(at) == '}') {
                    at++;
                    return new Obj(members, more);
                } else if (text.charAt(at) == ',') {
                    at++;
                } else if (atEllipsis()) {
                    skipEllipsis();
                    more = true;
                } else {
                    String key = string();
                    skipSpace();
                    expect(':');
                    members.put(key, value());
                }
            }
        }

        private DocJson array() {
            at++;
            List<DocJson> elements = new ArrayList<>();
            while (true) {
                skipSpace();
                if (atEnd()) {
                    throw error("an array is not closed");
                } else if (text.charAt(at) == ']') {
                    at++;
                    return new Arr(elements);
                } else if (text.charAt(at) == ',') {
                    at++;
                } else if (atEllipsis()) {
                    skipEllipsis();
                } else {
                    elements.add(value());
                }
            }
        }

        private String string() {
            expect('"');
            StringBuilder value = new StringBuilder();
            while (!atEnd() && text.charAt(at) != '"') {
                char c = text.charAt(at++);
                if (c == '\\' && !atEnd()) {
                    char escaped = text.charAt(at++);
                    value.append(switch (escaped) {
                        case 'n' -> "\n";
                        case 't' -> "\t";
                        case 'u' -> {
                            String hex = text.substring(at, Math.min(at + 4, text.length()));
                            at += 4;
                            yield String.valueOf((char) Integer.parseInt(hex, 16));
                        }
                        default -> String.valueOf(escaped);
                    });
                } else {
                    value.append(c);
                }
            }
            expect('"');
            return value.toString();
        }

        private DocJson number() {
            int start = at;
            while (!atEnd() && "+-.eE0123456789".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            if (start == at) {
                throw error("not JSON");
            }
            return new Num(text.substring(start, at));
        }

        private DocJson literal(String word, DocJson value) {
            if (!text.startsWith(word, at)) {
                throw error("not JSON");
            }
            at += word.length();
            return value;
        }

        private boolean atEllipsis() {
            return text.startsWith("...", at) || text.startsWith("…", at);
        }

        /** Skips {@code ...}, and words after it up to a closing {@code ...} ({@code ... the same message ...}). */
        private void skipEllipsis() {
            at += text.startsWith("...", at) ? 3 : 1;
            skipSpace();
            if (!atEnd() && Character.isLetter(text.charAt(at))) {
                int close = text.indexOf("...", at);
                if (close < 0) {
                    throw error("words after '...' with no closing '...'");
                }
                at = close + 3;
            }
        }

        private void expect(char c) {
            if (atEnd() || text.charAt(at) != c) {
                throw error("'" + c + "' expected");
            }
            at++;
        }

        void skipSpace() {
            while (!atEnd() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        boolean atEnd() {
            return at >= text.length();
        }

        IllegalArgumentException error(String what) {
            String before = text.substring(0, Math.min(at, text.length()));
            int line = (int) before.chars().filter(c -> c == '\n').count() + 1;
            int column = at - before.lastIndexOf('\n');
            return new IllegalArgumentException("shown JSON, line " + line + " column " + column + ": " + what);
        }
    }
}
