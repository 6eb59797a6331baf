package dev.parley.http;

import dev.parley.json.Json;
import io.javalin.http.Context;

/**
 * JSON responses, serialised straight to UTF-8 bytes by the one ObjectMapper. Javalin's
 * {@code ctx.json} builds a String first and copies it again: that and Jackson's reflection were
 * the largest costs of a history request under parley bench (JFR, 25 % of the server's samples).
 */
final class Responses {
    private static final String JSON = "application/json";

    private Responses() {
    }

    static void json(Context ctx, Object body) {
        json(ctx, 200, body);
    }

    static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType(JSON).result(Json.writeBytes(body));
    }
}
