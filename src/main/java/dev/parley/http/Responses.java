package dev.parley.http;

import dev.parley.cache.Rendered;
import dev.parley.cache.Versioned;
import dev.parley.json.Json;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.UnaryOperator;

/**
 * JSON responses, serialised to UTF-8 bytes by the one ObjectMapper and written straight to Jetty
 * with their Content-Length, in one write. Javalin's {@code ctx.result} copies the bytes through a
 * 32 KB buffer it allocates per request and sends them chunked (a third of a history request's
 * allocations, JFR); it also gzipped at level 6, which cost a 28 KB history page 550 µs of server
 * CPU, more than the rest of the request ({@link Gzip} takes level 1 and reuses its deflaters).
 */
final class Responses {
    private static final String JSON = "application/json";
    /** Smaller bodies gain too little from gzip to pay for its header and its CPU (Javalin's threshold too). */
    static final int GZIP_FROM_BYTES = 1500;
    private static final Gzip GZIP = new Gzip();

    private Responses() {
    }

    private static final String BEFORE_BODY = "parley.before_body";

    static void json(Context ctx, Object body) {
        json(ctx, 200, body);
    }

    /**
     * {@code body} as JSON; a 200 to a GET (or HEAD) with its ETag, and 304 when the client holds that version.
     * A versioned document written by a PATCH, POST or PUT, and any document a PATCH answers with, carries its ETag
     * too, for the writer's next If-Match.
     */
    static void json(Context ctx, int status, Object body) {
        if (status == 200 && (ctx.method() == HandlerType.GET || ctx.method() == HandlerType.HEAD)) {
            Conditional.send(ctx, Rendered.of(body));
            return;
        }
        byte[] bytes = Json.writeBytes(body);
        if (body instanceof Versioned || (status == 200 && ctx.method() == HandlerType.PATCH)) {
            ctx.header("ETag", Rendered.etagOf(body, bytes)); // a PATCH answers with the document as stored now
        }
        ctx.status(status).contentType(JSON);
        write(ctx, bytes);
    }

    /**
     * Runs {@code step} once, as the body is about to be written (the last moment a header can be set: the body
     * commits the response), or by {@link #beforeBodyIfPending} when the route wrote none (a 204).
     */
    static void beforeBody(Context ctx, Runnable step) {
        ctx.attribute(BEFORE_BODY, step);
    }

    static void beforeBodyIfPending(Context ctx) {
        Runnable step = ctx.attribute(BEFORE_BODY);
        if (step != null) {
            ctx.attribute(BEFORE_BODY, null);
            step.run();
        }
    }

    /** Writes {@code bytes} as the whole body, gzipped when the client accepts gzip and the body is large enough. */
    static void write(Context ctx, byte[] bytes) {
        write(ctx, bytes, GZIP::compress);
    }

    /** Writes a view's body as above; gzipped, it is compressed once for every request that is sent it. */
    static void write(Context ctx, Rendered<?> view) {
        write(ctx, view.body(), body -> view.gzipped(GZIP::compress));
    }

    private static void write(Context ctx, byte[] bytes, UnaryOperator<byte[]> gzip) {
        beforeBodyIfPending(ctx);
        HttpServletResponse response = ctx.res();
        byte[] body = bytes;
        if (negotiate(ctx, bytes.length)) {
            body = gzip.apply(bytes);
            response.setHeader("Content-Encoding", "gzip");
        }
        response.setContentLength(body.length);
        try {
            response.getOutputStream().write(body);
        } catch (IOException e) {
            throw new WriteFailed(e);
        }
    }

    /**
     * The headers of a 304 in place of a body of {@code length} bytes: the ETag (weak where the body would be gzipped)
     * and the Vary its 200 would carry (RFC 9110 15.4.5), and no Content-Length, which would have to be the 200's.
     */
    static void notModified(Context ctx, int length) {
        beforeBodyIfPending(ctx);
        negotiate(ctx, length);
        ctx.status(304);
        ctx.res().setContentType(null); // no body to describe (HttpServer clears a 204's, which is not sent this early)
        try {
            // Sent now: left to the end of the request, Jetty would add the Content-Length of what was written, 0.
            ctx.res().flushBuffer();
        } catch (IOException e) {
            throw new WriteFailed(e);
        }
    }

    /**
     * Sets Vary for a body of {@code length} bytes, and makes its ETag weak when it is to be gzipped: the same content,
     * other bytes (RFC 9110 8.8.1). Whether it is.
     */
    private static boolean negotiate(Context ctx, int length) {
        if (length < GZIP_FROM_BYTES) {
            return false;
        }
        HttpServletResponse response = ctx.res();
        response.addHeader("Vary", "Accept-Encoding"); // beside Vary: Origin (Cors)
        if (!acceptsGzip(ctx.header("Accept-Encoding"))) {
            return false;
        }
        String etag = response.getHeader("ETag");
        if (etag != null && !etag.startsWith("W/")) {
            response.setHeader("ETag", "W/" + etag);
        }
        return true;
    }

    /**
     * Whether an Accept-Encoding header lists gzip (or *) without {@code q=0}. A weight given to gzip itself wins over the
     * one of * (RFC 9110 12.5.3): {@code gzip;q=0, *} refuses gzip.
     */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        Boolean star = null;
        for (String coding : acceptEncoding.split(",")) {
            String[] parts = coding.split(";");
            String name = parts[0].strip();
            if (name.equalsIgnoreCase("gzip")) {
                return !refused(parts);
            }
            if (name.equals("*") && star == null) {
                star = !refused(parts);
            }
        }
        return star != null && star;
    }

    private static boolean refused(String[] parameters) {
        for (int i = 1; i < parameters.length; i++) {
            String parameter = parameters[i].strip();
            if (parameter.startsWith("q=") || parameter.startsWith("Q=")) {
                try {
                    return Double.parseDouble(parameter.substring(2)) == 0;
                } catch (NumberFormatException e) {
                    return true; // a weight we cannot read is no consent to gzip
                }
            }
        }
        return false;
    }

    /** {@code handler}, with a failed response write rethrown as Jetty raised it: Javalin takes Jetty's EofException for a client that went away. */
    static Handler rethrowingWriteFailures(Handler handler) {
        return ctx -> {
            try {
                handler.handle(ctx);
            } catch (WriteFailed e) {
                throw e.getCause();
            }
        };
    }

    /** The client stopped reading before its response was written; carries Jetty's exception out of handlers that declare none. */
    static final class WriteFailed extends UncheckedIOException {
        WriteFailed(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
