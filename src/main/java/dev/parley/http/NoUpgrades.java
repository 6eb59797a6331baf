package dev.parley.http;

import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Refuses a WebSocket handshake before Javalin sees it: Parley serves no WebSocket, and Javalin's upgrade path made a
 * servlet session (a JSESSIONID cookie, and an object kept in memory, for any client, with no key) and answered "no
 * route matches" for routes that exist. An h2c upgrade is already ignored, as HTTP allows.
 */
final class NoUpgrades extends Handler.Wrapper {
    static final String REFUSED = "Parley takes no WebSocket upgrade: send each request as plain HTTP (Upgrade: websocket refused)";

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String upgrade = request.getHeaders().get(HttpHeader.UPGRADE);
        if (upgrade != null && upgrade.toLowerCase(Locale.ROOT).contains("websocket")) {
            Response.writeError(request, response, callback, 400, REFUSED);
            return true;
        }
        return super.handle(request, response, callback);
    }
}
