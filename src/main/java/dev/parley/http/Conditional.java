package dev.parley.http;

import dev.parley.cache.Rendered;
import io.javalin.http.Context;

/**
 * A GET's answer with its ETag and {@code Cache-Control: private} (per user data, for the client's
 * cache only), and 304 Not Modified with no body when the client already holds that version
 * ({@code If-None-Match}). A cached view answers that without the database; any other GET has
 * read it, but the body is not sent again.
 */
final class Conditional {
    private Conditional() {
    }

    /** A cached view: its bytes and ETag were made once, when it was loaded. */
    static void send(Context ctx, Rendered<?> view) {
        send(ctx, view.body(), view.etag());
    }

    /** A 200 to a GET made just now: its ETag is the body's. */
    static void send(Context ctx, byte[] body) {
        send(ctx, body, Rendered.etagOf(body));
    }

    private static void send(Context ctx, byte[] body, String etag) {
        ctx.header("ETag", etag);
        ctx.header("Cache-Control", "private");
        if (holds(ctx.header("If-None-Match"), etag)) {
            ctx.status(304);
            return;
        }
        ctx.status(200).contentType("application/json");
        Responses.write(ctx, body);
    }

    /** Whether an If-None-Match header names {@code etag}: one of a list, weak or strong, or "*". */
    static boolean holds(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String tag = candidate.strip();
            if (tag.equals("*") || tag.equals(etag) || tag.equals("W/" + etag)) {
                return true;
            }
        }
        return false;
    }
}
