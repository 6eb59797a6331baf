import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.javalin.Javalin;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.VirtualThreads;

/** Framework cost per request: the same fixed JSON body from Javalin 7, plain Jetty 12 handlers and Helidon SE 4. */
public class FrameworkCost {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("client")) {
            client(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            return;
        }
        byte[] body = Files.readAllBytes(Path.of(args[2]));
        int port = Integer.parseInt(args[1]);
        switch (args[0]) {
            case "javalin" -> Javalin.create(config -> {
                config.startup.showJavalinBanner = false;
                config.concurrency.useVirtualThreads = true;
                config.http.defaultContentType = "application/json";
                config.jetty.modifyServer(server -> server.insertHandler(new org.eclipse.jetty.server.handler.GracefulHandler()));
                config.jetty.port = port;
                config.routes.before(ctx -> { });
                config.routes.before("/v1/*", ctx -> {
                    if (ctx.header("Authorization") == null) throw new io.javalin.http.UnauthorizedResponse();
                });
                config.routes.get("/v1/conversations/{id}/messages", ctx -> {
                    ctx.status(200).contentType("application/json");
                    ctx.res().setContentLength(body.length);
                    ctx.res().getOutputStream().write(body);
                });
                config.requestLogger.http((ctx, ms) -> { ctx.endpoints().matchedHttpEndpoint(); });
            }).start();
            case "jetty" -> {
                var pool = new QueuedThreadPool();
                pool.setVirtualThreadsExecutor(VirtualThreads.getDefaultVirtualThreadsExecutor());
                var server = new Server(pool);
                var connector = new ServerConnector(server);
                connector.setPort(port);
                server.addConnector(connector);
                server.setHandler(new Handler.Abstract(org.eclipse.jetty.util.thread.Invocable.InvocationType.BLOCKING) {
                    @Override
                    public boolean handle(Request request, Response response, Callback callback) {
                        String path = Request.getPathInContext(request);
                        if (request.getHeaders().get(HttpHeader.AUTHORIZATION) == null || !path.startsWith("/v1/conversations/")) {
                            Response.writeError(request, response, callback, 401);
                            return true;
                        }
                        response.setStatus(200);
                        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
                        response.write(true, ByteBuffer.wrap(body), callback);
                        return true;
                    }
                });
                server.start();
            }
            case "helidon" -> WebServer.builder().port(port).connectionOptions(o -> o.tcpNoDelay(true))
                    .routing(r -> r.get("/v1/conversations/{id}/messages", (req, res) -> {
                        if (req.headers().first(HeaderNames.AUTHORIZATION).isEmpty()) {
                            res.status(401).send();
                            return;
                        }
                        res.header(HeaderNames.CONTENT_TYPE, "application/json");
                        res.send(body);
                    })).build().start();
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("serving " + args[0] + " on " + port + ", pid " + ProcessHandle.current().pid());
        Thread.currentThread().join();
    }

    /** {@code clients} keep-alive connections as fast as they can for warm-up then measured seconds; prints requests/s. */
    static void client(int port, int clients, int warmupSeconds, int seconds) throws Exception {
        var count = new LongAdder();
        var all = new LongAdder();
        long start = System.nanoTime();
        long measureFrom = start + warmupSeconds * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        try (var workers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int id = c;
                done.add(workers.submit(() -> {
                    try (var socket = new Socket("127.0.0.1", port)) {
                        socket.setTcpNoDelay(true);
                        OutputStream out = socket.getOutputStream();
                        InputStream in = socket.getInputStream();
                        byte[] buffer = new byte[1 << 16];
                        byte[] request = ("GET /v1/conversations/" + (1000 + id) + "/messages?limit=50 HTTP/1.1\r\nHost: x\r\n"
                                + "Authorization: Bearer pk_abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                        while (true) {
                            long now = System.nanoTime();
                            if (now >= end) return null;
                            out.write(request);
                            readResponse(in, buffer);
                            all.increment();
                            if (now >= measureFrom) count.increment();
                        }
                    }
                }));
            }
            for (var f : done) f.get();
        }
        System.out.printf("%d %.0f%n", all.sum(), count.sum() / (double) seconds);
    }

    /** Reads one response with a Content-Length (every server here sends one). */
    static void readResponse(InputStream in, byte[] buffer) throws Exception {
        int have = 0;
        int headEnd;
        while ((headEnd = find(buffer, have)) < 0) {
            int n = in.read(buffer, have, buffer.length - have);
            if (n < 0) throw new IllegalStateException("closed");
            have += n;
        }
        String head = new String(buffer, 0, headEnd, StandardCharsets.US_ASCII).toLowerCase();
        if (!head.startsWith("http/1.1 200")) throw new IllegalStateException(head);
        int at = head.indexOf("content-length:");
        int length = Integer.parseInt(head.substring(at + 15, head.indexOf('\r', at)).strip());
        int left = length - (have - headEnd);
        while (left > 0) {
            int n = in.read(buffer, 0, Math.min(buffer.length, left));
            if (n < 0) throw new IllegalStateException("closed in body");
            left -= n;
        }
    }

    static int find(byte[] b, int have) {
        for (int i = 3; i < have; i++) if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') return i + 1;
        return -1;
    }
}
