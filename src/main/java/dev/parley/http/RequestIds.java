package dev.parley.http;

import io.javalin.http.Context;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * {@code X-Request-Id}: the client's own, when it sends one that is safe to repeat (up to 128 letters,
 * digits and {@code . _ : -}), else 128 random bits made here. Every response carries it back, and every
 * problem document names it ({@code request_id}), so a client's report and the server's records meet.
 */
final class RequestIds {
    static final String HEADER = "X-Request-Id";
    private static final String ATTRIBUTE = "parley.request_id";
    /** What a client's id may be for Parley to repeat it; the API document states it too. */
    static final String SAFE_PATTERN = "^[A-Za-z0-9._:-]{1,128}$";
    private static final Pattern SAFE = Pattern.compile(SAFE_PATTERN);

    private RequestIds() {
    }

    /** The first thing every request does: its id, kept for the problem it may end in, and sent back. */
    static void assign(Context ctx) {
        String id = idFor(ctx.header(HEADER));
        ctx.attribute(ATTRIBUTE, id);
        ctx.header(HEADER, id);
    }

    /** The id a request goes by: {@code given}, the client's, when it is safe to repeat, else a new one. */
    static String idFor(String given) {
        return given != null && SAFE.matcher(given).matches() ? given : made();
    }

    /** The request's id; null only for a request refused before any route ran. */
    static String of(Context ctx) {
        return ctx.attribute(ATTRIBUTE);
    }

    private static String made() {
        var random = ThreadLocalRandom.current();
        byte[] bits = new byte[16];
        random.nextBytes(bits);
        return HexFormat.of().formatHex(bits);
    }
}
