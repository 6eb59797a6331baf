package dev.parley.http;

import dev.parley.input.Check;
import dev.parley.input.Utf8;
import io.javalin.http.Handler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The query parameters a route declares ({@link Route#query}) are the only ones it takes, each once:
 * a guessed filter ({@code ?name=x}) would otherwise be ignored and answer every row with 200.
 */
final class QueryParameters {
    private QueryParameters() {
    }

    /** {@code handler}, refusing first any query parameter {@code route} does not declare, or one given twice. */
    static Handler declaredOnly(Route route, Handler handler) {
        Set<String> declared = new TreeSet<>(route.query().stream().map(Route.QueryParam::name).toList());
        return ctx -> {
            requireDecodable(ctx.queryString());
            check(declared, ctx.queryParamMap());
            handler.handle(ctx);
        };
    }

    /** Each parameter of {@code rawQuery} (as sent, still percent-encoded) decodes, and decodes to UTF-8. */
    static void requireDecodable(String rawQuery) {
        requireWellFormedEscapes(rawQuery);
        requireUtf8(rawQuery);
    }

    /**
     * Each {@code %} of the query string starts an escape, {@code %} and two hex digits: Jetty leaves out of its
     * parameters a pair it cannot decode ({@code user_id=3%}, {@code hard=true%}), and the route then answered as if
     * the client had not sent it, every user's rows or a soft delete, with 200.
     */
    static void requireWellFormedEscapes(String rawQuery) {
        if (rawQuery == null || rawQuery.indexOf('%') < 0) {
            return;
        }
        for (String pair : rawQuery.split("&")) {
            String[] nameAndValue = pair.split("=", 2);
            String name = nameAndValue[0];
            String badInName = malformedEscape(name);
            if (badInName != null) { // the name cannot be decoded: named as the client wrote it
                throw new BadRequest(400, "invalid-request", Check.printable(name), "the query parameter name "
                        + Check.printable(name) + " holds " + badInName + ", which is not a %-escape (% and two hex "
                        + "digits); write a % itself as %25");
            }
            String badInValue = nameAndValue.length == 2 ? malformedEscape(nameAndValue[1]) : null;
            if (badInValue != null) {
                String decoded = Check.printable(new String(Utf8.percentDecoded(name), StandardCharsets.UTF_8));
                throw new BadRequest(400, "invalid-request", decoded, "the value of " + decoded + " holds " + badInValue
                        + ", which is not a %-escape (% and two hex digits); write a % itself as %25");
            }
        }
    }

    /** The first {@code %} of {@code part} and the (up to two) characters after it, when they are not two hex digits. */
    private static String malformedEscape(String part) {
        for (int i = part.indexOf('%'); i >= 0; i = part.indexOf('%', i + 3)) {
            if (i + 2 >= part.length() || !isHex(part.charAt(i + 1)) || !isHex(part.charAt(i + 2))) {
                String shown = part.substring(i, Math.min(part.length(), i + 3));
                return shown.equals("%") ? "a % at its end" : "'" + Check.printable(shown) + "'";
            }
        }
        return null;
    }

    private static boolean isHex(char c) {
        return c < 0x80 && Character.digit(c, 16) >= 0;
    }

    /**
     * Each parameter's name and value, percent-decoded, is UTF-8: Jetty reads bytes that are not (%FF, or %ED%A0%80,
     * a surrogate) as U+FFFD, so {@code q=%FF} would search for a character the client never sent.
     */
    static void requireUtf8(String rawQuery) {
        if (rawQuery == null || rawQuery.chars().allMatch(c -> c < 0x80 && c != '%')) {
            return;
        }
        for (String pair : rawQuery.split("&")) {
            byte[] bytes = Utf8.percentDecoded(pair);
            if (Utf8.firstInvalid(bytes) >= 0 || pair.indexOf('\uFFFD') >= 0) {
                String name = new String(Utf8.percentDecoded(pair.split("=", 2)[0]), StandardCharsets.UTF_8);
                throw new BadRequest(400, "invalid-request", Check.printable(name), Check.printable(name)
                        + " is not UTF-8 once its %-escapes are decoded; percent-encode the UTF-8 bytes of the text");
            }
        }
    }

    static void check(Set<String> declared, Map<String, List<String>> given) {
        for (var parameter : given.entrySet()) {
            String name = parameter.getKey();
            if (name.isEmpty() && parameter.getValue().stream().allMatch(String::isEmpty)) {
                continue; // an empty piece ("?limit=5&", "&&"): no parameter at all, as a form's decoding skips it
            }
            if (!declared.contains(name)) {
                String which = name.isEmpty() ? "a parameter with no name (\"?=value\")" : name;
                throw new BadRequest(400, "invalid-request", name, declared.isEmpty()
                        ? which + " is not a query parameter of this request; it takes none"
                        : which + " is not a query parameter of this request; known parameters: " + declared);
            }
            if (parameter.getValue().size() > 1) {
                throw new BadRequest(400, "invalid-request", name, name + " is given " + parameter.getValue().size()
                        + " times; it takes one value" + (name.equals("ids") ? " (a comma-separated list)" : ""));
            }
        }
    }
}
