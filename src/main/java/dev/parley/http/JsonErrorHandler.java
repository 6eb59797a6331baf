package dev.parley.http;

import dev.parley.json.Json;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/** Errors Jetty answers itself (malformed requests that never reach a route) as problem+json, not HTML. */
final class JsonErrorHandler extends ErrorHandler {
    /** The path Jetty gives the request it makes up to answer one whose request line it could not read. */
    private static final String UNREAD_URI = "/badMessage";
    private static final int DEFAULT_HEADER_BYTES = new HttpConfiguration().getRequestHeaderSize();

    /** Jetty writes error bodies only for GET, POST and HEAD by default; an API answers every method. */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) {
        String path = request.getHttpURI().getPath();
        boolean unread = UNREAD_URI.equals(path); // Jetty's stand-in for a request line it could not read
        boolean draining = code == 503 && request.getConnectionMetaData().getConnector().getServer().isStopping();
        int headerBytes = request.getConnectionMetaData().getHttpConfiguration().getRequestHeaderSize();
        String id = RequestIds.idFor(unread ? null : request.getHeaders().get(RequestIds.HEADER));
        byte[] body = Json.writeBytes(draining ? Problems.shuttingDown(path).forRequest(id)
                : Problems.unparsed(code, badAuthority(cause) ? Problems.BAD_AUTHORITY : message, unread ? null : path, id,
                headerBytes));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problem.CONTENT_TYPE);
        response.getHeaders().put(RequestIds.HEADER, id);
        if (draining) { // Jetty's graceful stop refuses requests that arrive on open connections while it drains
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (code == 400) {
            // Jetty drops the connection after a request it could not parse (a NUL in the path, say);
            // saying so keeps clients from sending their next request down a closed connection.
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        if (!draining) { // a draining instance's refusals are the shutdown's, not a client's mistake
            AccessLog.refusedByServer(unread ? null : request.getMethod(), unread ? null : path, code, id);
        }
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /**
     * Whether Jetty refused the request target as an authority (host:port): the target of a CONNECT, which Jetty reports
     * only as "400: Bad Request" caused by this, and makes up the same stand-in request as for an unreadable path.
     */
    private static boolean badAuthority(Throwable cause) {
        for (Throwable at = cause; at != null; at = at.getCause()) {
            if (at instanceof IllegalArgumentException && Problems.BAD_AUTHORITY.equals(at.getMessage())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        String id = RequestIds.idFor(null);
        fields.put(HttpHeader.CONTENT_TYPE, Problem.CONTENT_TYPE);
        fields.put(HttpHeader.CONNECTION, "close");
        fields.put(RequestIds.HEADER, id);
        AccessLog.refusedByServer(null, null, status, id);
        return ByteBuffer.wrap(Json.writeBytes(Problems.unparsed(status, reason, null, id, DEFAULT_HEADER_BYTES)));
    }
}
