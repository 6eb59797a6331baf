package dev.parley.http;

import io.javalin.http.Context;
import java.util.Set;

/**
 * The method a request was sent with, as both ports read it. Javalin takes {@code X-HTTP-Method-Override} as the
 * method, so a GET could erase a user past a proxy that lets only GETs through: a request carrying it is refused
 * before any route runs. Metrics and the access log name the method on the wire; one Parley does not answer counts
 * as {@code OTHER}, so no client can add a series per made-up method.
 */
final class Methods {
    static final String OVERRIDE = "X-HTTP-Method-Override";
    private static final Set<String> KNOWN = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    private Methods() {
    }

    /**
     * A before-handler of both ports: the method on the wire is the method, and a CONNECT is refused as docs/api.md
     * says, whatever its target (one to host:port reached the routes as a request for "/", and was a 404).
     */
    static void refuseUntaken(Context ctx) {
        if (ctx.header(OVERRIDE) != null) {
            throw new BadRequest(400, "method-override-not-supported", OVERRIDE, OVERRIDE
                    + " is not taken: send the request with the method itself (DELETE, PATCH, PUT ...)");
        }
        if ("CONNECT".equals(ctx.req().getMethod())) {
            throw new BadRequest(400, "malformed-request", null, Problems.NO_TUNNELS);
        }
    }

    /** The method sent: one of those an HTTP API uses, or OTHER. */
    static String label(Context ctx) {
        return label(ctx.req().getMethod());
    }

    static String label(String sent) {
        return sent != null && KNOWN.contains(sent) ? sent : "OTHER";
    }
}
