package dev.parley.http;

import dev.parley.apps.ApiKeys;
import dev.parley.apps.UserTokens;
import io.javalin.http.Context;

/**
 * Resolves the caller's app from {@code Authorization: Bearer <key>} before any /v1 route runs, and applies
 * the key's rate limit. The bearer may instead be a user token ({@link UserTokens}): then the request also
 * carries that user's claims, and {@link UserTokenAccess} lets it reach only that user's data.
 */
final class Auth {
    private static final String APP = "parley.app";
    private static final String USER_TOKEN = "parley.user_token";
    private static final String KEY_PREFIX = "parley.key_prefix";
    private static final String KEY = "parley.key";

    private final ApiKeys keys;
    private final UserTokens tokens;
    private final RateLimiter limiter; // null: no rate limit

    Auth(ApiKeys keys, UserTokens tokens, RateLimiter limiter) {
        this.keys = keys;
        this.tokens = tokens;
        this.limiter = limiter;
    }

    /**
     * The request's Authorization header, or null; several are refused (401), on the API and the admin port alike:
     * which one a proxy in front of Parley heeded, Parley cannot tell.
     */
    static String oneAuthorization(Context ctx) {
        String header = ctx.header("Authorization");
        if (header != null) {
            var headers = ctx.req().getHeaders("Authorization");
            headers.nextElement();
            if (headers.hasMoreElements()) {
                throw new Unauthorized("send one Authorization header; this request has several");
            }
        }
        return header;
    }

    void authenticate(Context ctx) {
        String header = oneAuthorization(ctx);
        if (header == null) {
            throw new Unauthorized("send the app's API key as 'Authorization: Bearer <key>'");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new Unauthorized("the Authorization header must use the Bearer scheme");
        }
        String key = header.substring(7).strip();
        if (key.startsWith(UserTokens.PREFIX)) {
            asUser(ctx, key);
            return;
        }
        ApiKeys.Holder holder = keys.resolve(key)
                .orElseThrow(() -> new Unauthorized("the API key is not valid (unknown, revoked or malformed)"));
        ctx.attribute(APP, holder.appId());
        ctx.attribute(KEY, holder);
        ctx.attribute(KEY_PREFIX, key.substring(0, ApiKeys.PREFIX_LENGTH)); // resolved keys are 46 characters
        if (limiter != null) {
            limit(ctx, limiter.admit(key));
        }
    }

    private void asUser(Context ctx, String token) {
        UserTokens.Claims claims = tokens.verify(token).orElseThrow(() -> new Unauthorized(
                "the user token is not valid (expired, malformed, not signed by its app, or its key was revoked)"));
        ctx.attribute(APP, claims.appId());
        ctx.attribute(USER_TOKEN, claims);
        ctx.attribute(KEY_PREFIX, "user " + claims.userId()); // who asked, in an audit row
        if (limiter != null) { // a user's tokens share one budget: minting more buys no more requests
            limit(ctx, limiter.admit(UserTokens.PREFIX + claims.appId() + "." + claims.userId()));
        }
    }

    /** The claims of the user token the request came with; null when it came with the app's key. */
    static UserTokens.Claims userToken(Context ctx) {
        return ctx.attribute(USER_TOKEN);
    }

    private void limit(Context ctx, RateLimiter.Verdict verdict) {
        ctx.header("RateLimit-Limit", String.valueOf(verdict.limit()));
        ctx.header("RateLimit-Remaining", String.valueOf(verdict.remaining()));
        ctx.header("RateLimit-Reset", String.valueOf(verdict.resetSeconds()));
        if (!verdict.allowed()) {
            throw new TooManyRequests(verdict.limit(), limiter.rate(), verdict.retryAfterSeconds());
        }
    }

    /** The public prefix of the key the request came with: who asked, in an audit row. */
    static String keyPrefix(Context ctx) {
        String prefix = ctx.attribute(KEY_PREFIX);
        if (prefix == null) {
            throw new IllegalStateException("route " + ctx.path() + " ran without authentication");
        }
        return prefix;
    }

    /** The app's key the request came with; a user token has none (routes for the app's key only need it). */
    static ApiKeys.Holder key(Context ctx) {
        ApiKeys.Holder key = ctx.attribute(KEY);
        if (key == null) {
            throw new IllegalStateException("route " + ctx.path() + " ran without the app's key");
        }
        return key;
    }

    /** The app the request was authenticated for; null before authentication or on an open route. */
    static Long appIfKnown(Context ctx) {
        return ctx.attribute(APP);
    }

    /** The app the request was authenticated for. */
    static long app(Context ctx) {
        Long appId = ctx.attribute(APP);
        if (appId == null) {
            throw new IllegalStateException("route " + ctx.path() + " ran without authentication");
        }
        return appId;
    }
}
