package dev.parley.http;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Set;

/**
 * The conditional headers each route acts on; any other is refused with 400 naming it, before the route runs. A client
 * that sends {@code If-Match} with a DELETE or a PUT expects the write to stop if the resource changed: answering as if
 * it were absent would lose the very change it guards. Parley evaluates {@code If-Match} on a PATCH, on the DELETE of
 * a resource that has an ETag, and on a GET that answers with one; {@code If-None-Match} on such a GET only (a write
 * never evaluates it); {@code If-Unmodified-Since} nowhere, as no answer carries a Last-Modified date.
 *
 * <p>A header Parley evaluates must come once: of two {@code If-Match} lines the first used to win, so the order of
 * two lines decided between a write and a 412. {@code If-None-Match} lines are one list (RFC 9110 5.3), as a GET reads it.
 */
final class Preconditions {
    static final String IF_MATCH = "If-Match";
    static final String IF_NONE_MATCH = "If-None-Match";
    static final String IF_UNMODIFIED_SINCE = "If-Unmodified-Since";

    /** DELETEs of a resource whose GET answers an ETag: a stale If-Match deletes nothing (412), as on its PATCH. */
    static final Set<String> CONDITIONAL_DELETES = Set.of("deleteCharacter", "eraseUser", "deleteConversation", "deleteMessage",
            "deleteMemory");

    private Preconditions() {
    }

    /** Whether {@code route} evaluates If-Match. */
    static boolean takesIfMatch(Route route) {
        return route.method() == HandlerType.PATCH || CONDITIONAL_DELETES.contains(route.operationId()) || route.answersEtag();
    }

    /**
     * Whether {@code route} honours Idempotency-Key: the message appends, which store the key with what it made. Any
     * other route would make its write again on a retry the client believes safe (a durable counter's purchase counted
     * twice), so the header is refused there, as an If-Match that would not be evaluated is.
     */
    static boolean takesIdempotencyKey(Route route) {
        return route.operationId().startsWith("append");
    }

    /** {@code handler}, behind a check of the conditional headers (and the Idempotency-Key) the request carries. */
    static Handler checked(Route route, Handler handler) {
        boolean ifMatch = takesIfMatch(route);
        boolean ifNoneMatch = route.answersEtag();
        boolean idempotencyKey = takesIdempotencyKey(route);
        return ctx -> {
            once(ctx, IF_MATCH);
            once(ctx, MessageHandlers.IDEMPOTENCY_KEY);
            if (!idempotencyKey && ctx.header(MessageHandlers.IDEMPOTENCY_KEY) != null) {
                throw new BadRequest(400, "invalid-request", MessageHandlers.IDEMPOTENCY_KEY, "Idempotency-Key is honoured "
                        + "only by the message appends; on this route a retry would not be recognised and would "
                        + (route.method() == HandlerType.GET ? "read" : "write") + " again: send the request without it");
            }
            if (!ifMatch && ctx.header(IF_MATCH) != null) {
                throw new BadRequest(400, "invalid-request", IF_MATCH, "If-Match is not evaluated on this route (it has no ETag "
                        + "to compare), so it cannot keep this request from " + (route.method() == HandlerType.GET
                        ? "reading a changed document" : "overwriting a change") + ": send it without If-Match");
            }
            if (!ifNoneMatch && ctx.header(IF_NONE_MATCH) != null) {
                throw new BadRequest(400, "invalid-request", IF_NONE_MATCH, "If-None-Match is evaluated only on a GET that "
                        + "answers with an ETag; " + (ifMatch ? "to write only what you read, send If-Match with its ETag"
                        : "send this request without it"));
            }
            if (ctx.header(IF_UNMODIFIED_SINCE) != null) {
                throw new BadRequest(400, "invalid-request", IF_UNMODIFIED_SINCE, "If-Unmodified-Since is not evaluated: Parley "
                        + "answers no Last-Modified date" + (ifMatch ? "; send If-Match with the ETag a GET answered" : ""));
            }
            handler.handle(ctx);
        };
    }

    /** The If-None-Match lines of a request as one list, or null when there is none. */
    static String ifNoneMatch(Context ctx) {
        if (ctx.header(IF_NONE_MATCH) == null) { // most requests: no list made
            return null;
        }
        return String.join(",", Collections.list(ctx.req().getHeaders(IF_NONE_MATCH)));
    }

    /**
     * Refuses {@code header} sent on more than one line (400 naming it), as a proxy that reads the last one would act on
     * another than Parley. Every request passes here: one sent once (or not at all) is told without making a list.
     */
    static void once(Context ctx, String header) {
        Enumeration<String> sent = ctx.req().getHeaders(header);
        if (!sent.hasMoreElements() || nextIsLast(sent)) {
            return;
        }
        int lines = 1 + Collections.list(sent).size(); // the first was read
        throw new BadRequest(400, "invalid-request", header, header + " is sent " + lines + " times: send it once, "
                + "as which one to act on cannot be told");
    }

    private static boolean nextIsLast(Enumeration<String> lines) {
        lines.nextElement();
        return !lines.hasMoreElements();
    }
}
