package dev.parley.http;

import dev.parley.apps.Origins;
import dev.parley.input.Check;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.time.Duration;

/**
 * CORS on the API port, so that browser apps can call /v1 with their keys. Each app lists the origins
 * it allows ({@code parley apps cors}, {@code PUT /admin/apps/{name}/cors}; none by default).
 *
 * <p>A preflight carries no key, so it cannot say which app it is for: it is answered (204) when some app
 * allows its origin, and refused (403, a problem document saying why) when none does. That tells a page
 * no more than that the origin is allowed somewhere. What a page may read is decided on the request
 * itself, which carries the key: its answer gets {@code Access-Control-Allow-Origin} only when the key's
 * app allows the origin. An answer to a request whose key is missing or not valid (401) gets it when some
 * app allows the origin, so that the page can read why it was refused.
 *
 * <p>The preflight is answered before authentication, so it never counts against a key's rate limit,
 * and before routing, so it is no 404 or 405.
 */
final class Cors {
    static final String ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
    static final String ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, "
            + ConsistencyTokens.HEADER + ", X-Request-Id";
    /** The answers' headers a page may read besides the few every browser shows. */
    static final String EXPOSE_HEADERS =
            "ETag, Location, Retry-After, X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
                    + ConsistencyTokens.HEADER;
    /** How long a browser may reuse a preflight's answer: Chrome's upper bound. */
    static final Duration MAX_AGE = Duration.ofHours(2);

    private final Origins origins;

    Cors(Origins origins) {
        this.origins = origins;
    }

    /** {@code authenticate}, with a preflight answered instead, and the CORS headers added to every other request's answer. */
    Handler around(Handler authenticate) {
        return ctx -> {
            if (isPreflight(ctx)) {
                preflight(ctx);
                return;
            }
            try {
                authenticate.handle(ctx);
            } finally { // a 401 or 429 is read by the page too
                allowReading(ctx);
            }
        };
    }

    private static boolean isPreflight(Context ctx) {
        return ctx.method() == HandlerType.OPTIONS && ctx.header("Origin") != null
                && ctx.header("Access-Control-Request-Method") != null;
    }

    private void preflight(Context ctx) {
        String origin = ctx.header("Origin");
        ctx.header("Vary", "Origin");
        if (!origins.anyAppAllows(origin)) {
            throw new BadRequest(403, "origin-not-allowed", null, "no app allows pages from " + Check.printable(origin)
                    + " to call the API; an operator allows it with 'parley apps cors NAME --origins " + Check.printable(origin) + "'");
        }
        ctx.header("Access-Control-Allow-Origin", origin);
        ctx.header("Access-Control-Allow-Methods", ALLOW_METHODS);
        ctx.header("Access-Control-Allow-Headers", ALLOW_HEADERS);
        ctx.header("Access-Control-Max-Age", String.valueOf(MAX_AGE.toSeconds()));
        ctx.status(204);
        ctx.skipRemainingHandlers();
    }

    private void allowReading(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin == null) {
            return; // not from a browser's cross-origin request
        }
        ctx.res().addHeader("Vary", "Origin"); // added: a gzipped answer varies by Accept-Encoding too
        Long appId = Auth.appIfKnown(ctx);
        if (appId == null ? origins.anyAppAllows(origin) : origins.allows(appId, origin)) {
            ctx.header("Access-Control-Allow-Origin", origin);
            ctx.header("Access-Control-Expose-Headers", EXPOSE_HEADERS);
        }
    }
}
