package dev.parley.http;

import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * One line per request on the {@code parley.access} logger (off with PARLEY_ACCESS_LOG=off): method, path,
 * route template, status, duration, request id and app. The path carries ids but never the query string,
 * which can hold a user's search words. While a route runs, its request id, app and route are in the MDC,
 * so every line it logs (a slow query, a warning) carries them too.
 */
final class AccessLog {
    private static final Logger LOG = LoggerFactory.getLogger("parley.access");
    static final String REQUEST_ID = "request_id";
    static final String APP_ID = "app_id";
    static final String ROUTE = "route";
    static final String METHOD = "method";

    private AccessLog() {
    }

    /** At the start of a request: its id, for every line logged while it runs. */
    static void begin(Context ctx) {
        MDC.put(REQUEST_ID, RequestIds.of(ctx));
    }

    /**
     * Once the route is known and the caller authenticated: its method and template, as the access line names them
     * (method, route), so one search by route finds the request's every line.
     */
    static void routed(String method, String route, Long appId) {
        MDC.put(METHOD, method);
        MDC.put(ROUTE, route);
        if (appId != null) {
            MDC.put(APP_ID, String.valueOf(appId));
        }
    }

    /** After the response: the access line, then the MDC cleared for whatever this thread runs next. */
    static void end(Context ctx, Endpoint endpoint, long nanos) {
        try {
            if (LOG.isInfoEnabled()) {
                line(ctx, endpoint, nanos);
            }
        } finally {
            MDC.clear();
        }
    }

    /**
     * The access line of a request Jetty refused before Parley saw it (a request line or headers too long, a path it could
     * not read): its answer names a request id, which must lead to a line. {@code path} is null when the request line
     * could not be read; no duration, as none was measured.
     */
    static void refusedByServer(String method, String path, int status, String requestId) {
        if (LOG.isInfoEnabled()) {
            String label = Methods.label(method);
            String shown = path == null ? "(unread)" : path;
            fields(requestId, label, shown, "unmatched", status)
                    .log(label + " " + shown + " " + status + " (refused before it was read whole)");
        }
    }

    /** The fields every access line has, in the order every line gives them. */
    private static LoggingEventBuilder fields(String requestId, String method, String path, String route, int status) {
        return LOG.atInfo()
                .addKeyValue(REQUEST_ID, requestId)
                .addKeyValue(METHOD, method)
                .addKeyValue("path", path)
                .addKeyValue(ROUTE, route)
                .addKeyValue("status", status);
    }

    private static void line(Context ctx, Endpoint endpoint, long nanos) {
        MDC.clear(); // the fields below say it all, and the logger may run on another thread than the route did
        double millis = Math.round(nanos / 10_000.0) / 100.0;
        String route = endpoint == null ? "unmatched" : endpoint.path;
        Long appId = Auth.appIfKnown(ctx);
        var line = fields(RequestIds.of(ctx), Methods.label(ctx), ctx.path(), route, ctx.statusCode())
                .addKeyValue("duration_ms", millis);
        if (appId != null) {
            line = line.addKeyValue(APP_ID, String.valueOf(appId)); // a string, as in the MDC's lines and the API's ids
        }
        line.log(Methods.label(ctx) + " " + ctx.path() + " " + ctx.statusCode() + " " + millis + " ms"); // no {} to scan
    }
}
