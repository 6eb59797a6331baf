package dev.parley.http;

import dev.parley.db.Consistency;
import dev.parley.db.Replicas;
import dev.parley.input.Check;
import io.javalin.http.Context;
import io.javalin.http.Handler;

/**
 * Read-your-writes with read replicas. A write answers with {@code Parley-Consistency}: the primary's WAL
 * position once the write has committed. A read (a GET, or a POST that only reads: recall, context) that sends it
 * back is served by a replica only once that replica has replayed past it (or by the primary): the client sees its
 * own writes however far behind a replica is. Without replicas no token is sent, and one received is checked and
 * needs no waiting.
 */
final class ConsistencyTokens {
    static final String HEADER = "Parley-Consistency";

    private final Replicas replicas; // null: no replicas

    ConsistencyTokens(Replicas replicas) {
        this.replicas = replicas;
    }

    Handler around(Route route, Handler handler) {
        if (route.reads()) {
            return ctx -> {
                Consistency.Lsn after = token(ctx);
                if (after == null || replicas == null) {
                    handler.handle(ctx);
                } else {
                    Consistency.runAfter(after, () -> handler.handle(ctx));
                }
            };
        }
        if (replicas == null) {
            return handler;
        }
        return ctx -> {
            Responses.beforeBody(ctx, () -> {
                if (ctx.statusCode() < 300) { // committed: any position read now is at or past its commit
                    ctx.header(HEADER, replicas.primaryPosition().toString());
                }
            });
            handler.handle(ctx);
            Responses.beforeBodyIfPending(ctx); // a 204 has no body to wait for
        };
    }

    private static Consistency.Lsn token(Context ctx) {
        String token = ctx.header(HEADER);
        if (token == null) {
            return null;
        }
        try {
            return Consistency.Lsn.parse(token.strip());
        } catch (IllegalArgumentException e) {
            throw new BadRequest(400, "bad-consistency-token", HEADER, HEADER + " must be a token a write answered with (like 16/B374D848), not '"
                    + Check.printable(token) + "'");
        }
    }
}
