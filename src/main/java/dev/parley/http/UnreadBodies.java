package dev.parley.http;

import io.javalin.http.Context;
import jakarta.servlet.ServletInputStream;
import java.io.IOException;

/**
 * Reads to its end a request body that the route answered without reading (a GET that came with a
 * body, a 401, a 404) or read only in part (a 413), before the answer goes out.
 *
 * <p>Jetty closes a connection whose request body is left unread, even after it has answered
 * without {@code Connection: close}; a client that sends its next request on that connection gets
 * no answer, and a client still sending the body when the socket closes gets a reset that can
 * discard the answer it was about to read. Reading the rest keeps the connection usable. A body
 * beyond {@code limit} is not worth reading: that connection is closed, as before. A client that
 * asked {@code Expect: 100-continue} and was never told to continue sends no body, so none is read.
 */
final class UnreadBodies {
    private static final String READING = "parley.body-reading";
    private static final int CHUNK = 16 * 1024;

    private final long limit;

    /** {@code limit}: the most bytes read and thrown away for one request. */
    UnreadBodies(long limit) {
        this.limit = limit;
    }

    /** Marks that the route began reading the body, which sent a 100 Continue if one was asked for. */
    static void reading(Context ctx) {
        ctx.attribute(READING, Boolean.TRUE);
    }

    /** Runs after every route, before the answer is written. */
    void readRest(Context ctx) {
        var request = ctx.req();
        long declared = request.getContentLengthLong();
        boolean chunked = "chunked".equalsIgnoreCase(request.getHeader("Transfer-Encoding"));
        if (declared == 0 || (declared < 0 && !chunked) || declared > limit) {
            return;
        }
        if ("100-continue".equalsIgnoreCase(request.getHeader("Expect")) && ctx.attribute(READING) == null) {
            return;
        }
        long read = 0;
        try {
            ServletInputStream in = request.getInputStream();
            if (in.isFinished()) {
                return; // the route read it all, as almost every route does
            }
            byte[] buffer = new byte[CHUNK];
            for (int n = in.read(buffer); n != -1 && read <= limit; n = in.read(buffer)) {
                read += n;
            }
        } catch (IOException | RuntimeException e) {
            // The body is broken or the client went away; Jetty closes this connection, as it would have.
        }
    }
}
