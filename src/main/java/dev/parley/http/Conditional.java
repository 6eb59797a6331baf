package dev.parley.http;

import dev.parley.cache.Rendered;
import dev.parley.cache.Versioned;
import dev.parley.chat.StaleVersion;
import io.javalin.http.Context;

/**
 * A GET's answer with its ETag and {@code Cache-Control: private} (per user data, for the client's
 * cache only), 304 Not Modified with no body when the client already holds that version
 * ({@code If-None-Match}), and 412 when {@code If-Match} names another. A cached view answers that
 * without the database; any other GET has read it, but the body is not sent again.
 */
final class Conditional {
    private Conditional() {
    }

    /** A view, cached or rendered just now: its bytes and ETag were made once, when it was rendered. */
    static void send(Context ctx, Rendered<?> view) {
        String etag = view.etag();
        String ifMatch = requiredTag(ctx); // evaluated before If-None-Match (RFC 9110 13.2.2)
        if (ifMatch != null && !ifMatch.equals(etag)) {
            throw StaleVersion.ofRead(etag);
        }
        ctx.header("ETag", etag);
        ctx.header("Cache-Control", "private");
        if (holds(Preconditions.ifNoneMatch(ctx), etag)) {
            Responses.notModified(ctx, view.body().length);
            return;
        }
        ctx.status(200).contentType("application/json");
        Responses.write(ctx, view);
    }

    /**
     * The version a PATCH's or a DELETE's {@code If-Match} requires of the {@code kind} document at {@code id}, or null
     * when it requires none (absent, or "*": a PATCH of a missing row answers 404 anyway). A tag Parley could not
     * have made for that document (another's, or one made up) requires version 0, which no row has: the PATCH
     * answers 412, as for any other tag that is not the current one. A value that is not an entity tag (no quotes) is
     * refused with 400.
     */
    static Long requiredVersion(Context ctx, Class<? extends Versioned> kind, long id) {
        String ifMatch = requiredTag(ctx);
        return ifMatch == null ? null : Rendered.versionOf(ifMatch, kind, id).orElse(0);
    }

    /**
     * The ETag a PATCH's, a DELETE's or a GET's {@code If-Match} requires (of a PATCH or a DELETE: of a document that
     * has no version, a message or a memory), compared with the tag of what is stored; null when it requires none. A gzipped GET's weak tag names the
     * same body, so it is read as the strong one.
     */
    static String requiredTag(Context ctx) {
        String ifMatch = ctx.header("If-Match");
        if (ifMatch == null || ifMatch.strip().equals("*")) {
            return null;
        }
        if (ifMatch.contains(",")) {
            throw new BadRequest(400, "invalid-request", "If-Match",
                    "If-Match must name one ETag, the one a GET of this resource returned");
        }
        String tag = Rendered.strong(ifMatch.strip());
        if (tag.length() < 2 || tag.charAt(0) != '"' || tag.charAt(tag.length() - 1) != '"') {
            // Not an entity tag at all: a 412 would tell the client someone else wrote, and it would
            // read, retry with the same unquoted value and get 412 again for ever.
            throw new BadRequest(400, "invalid-request", "If-Match",
                    "If-Match must be the ETag a GET of this resource returned, double quotes included");
        }
        return tag;
    }

    /** Whether an If-None-Match header names {@code etag}: one of a list, weak or strong, or "*". */
    static boolean holds(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String tag = candidate.strip();
            if (tag.equals("*") || Rendered.strong(tag).equals(etag)) {
                return true;
            }
        }
        return false;
    }
}
