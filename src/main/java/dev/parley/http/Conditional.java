package dev.parley.http;

import dev.parley.cache.Rendered;
import io.javalin.http.Context;

/**
 * A GET answered from a rendering: its ETag and {@code Cache-Control: private} (per user data, for
 * the client's cache only), and 304 Not Modified with no body when the client already holds that
 * version ({@code If-None-Match}), which a cached view answers without the database.
 */
final class Conditional {
    private Conditional() {
    }

    static void send(Context ctx, Rendered<?> view) {
        ctx.header("ETag", view.etag());
        ctx.header("Cache-Control", "private");
        if (holds(ctx.header("If-None-Match"), view.etag())) {
            ctx.status(304);
            return;
        }
        ctx.status(200).contentType("application/json").result(view.body());
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
