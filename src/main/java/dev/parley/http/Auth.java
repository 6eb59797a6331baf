package dev.parley.http;

import dev.parley.apps.ApiKeys;
import io.javalin.http.Context;

/** Resolves the caller's app from {@code Authorization: Bearer <key>} before any /v1 route runs. */
final class Auth {
    private static final String APP = "parley.app";

    private final ApiKeys keys;

    Auth(ApiKeys keys) {
        this.keys = keys;
    }

    void authenticate(Context ctx) {
        String header = ctx.header("Authorization");
        if (header == null) {
            throw new Unauthorized("send the app's API key as 'Authorization: Bearer <key>'");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new Unauthorized("the Authorization header must use the Bearer scheme");
        }
        long appId = keys.resolve(header.substring(7).strip())
                .orElseThrow(() -> new Unauthorized("the API key is not valid (unknown, revoked or malformed)"));
        ctx.attribute(APP, appId);
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
