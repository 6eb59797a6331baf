package dev.parley.http;

import dev.parley.apps.Apps;
import dev.parley.chat.InvalidInput;
import dev.parley.config.Admin;
import dev.parley.monitor.Point;
import dev.parley.monitor.Timeline;
import io.javalin.Javalin;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The admin port: Prometheus metrics, the monitor's JSON, the live dashboard, and the management of apps,
 * their keys and origins, apart from the API so that the public port answers only the API and health.
 * Loopback by default; with PARLEY_ADMIN_KEY set, {@code /metrics} and {@code /admin/*} want it as a
 * Bearer token (the dashboard's page asks for it).
 */
public final class AdminServer implements AutoCloseable {
    static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
    /** An IPv4 address, or an IPv6 one in brackets as a Host header writes it. */
    private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-f:.]+(%[0-9a-z]+)?]");
    private static final String UPLOT = "/META-INF/resources/webjars/uplot/1.6.30/dist/";
    /** The dashboard's files, by the name they are served under: the page, its script, and uPlot. */
    private static final Map<String, Asset> ASSETS = Map.of(
            "/dashboard", new Asset("/dashboard/index.html", "text/html; charset=utf-8"),
            "/dashboard/dashboard.js", new Asset("/dashboard/dashboard.js", "text/javascript; charset=utf-8"),
            "/dashboard/dashboard.css", new Asset("/dashboard/dashboard.css", "text/css; charset=utf-8"),
            "/dashboard/uPlot.iife.min.js", new Asset(UPLOT + "uPlot.iife.min.js", "text/javascript; charset=utf-8"),
            "/dashboard/uPlot.min.css", new Asset(UPLOT + "uPlot.min.css", "text/css; charset=utf-8"));

    private record Asset(String resource, String contentType) {
        byte[] bytes() {
            try (InputStream in = AdminServer.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("the jar lacks " + resource + ": the build did not package the dashboard");
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The last hour's points after {@code since}. */
    record Points(List<Point> points) {
    }

    private final Javalin app;

    private AdminServer(Javalin app) {
        this.app = app;
    }

    public static AdminServer start(Admin admin, PrometheusMeterRegistry registry, Timeline timeline, Apps apps) {
        var appAdmin = new AppAdminHandlers(apps);
        var allowed = new AllowedMethods();
        Javalin app = Javalin.create(config -> {
            config.events.handlerAdded(added -> {
                if (added.getHttpMethod().isHttpMethod()) {
                    allowed.add(added.getHttpMethod(), added.getPath());
                }
            });
            config.startup.showJavalinBanner = false;
            config.concurrency.useVirtualThreads = true;
            config.http.defaultContentType = "application/json";
            config.jetty.modifyServer(server -> {
                server.setErrorHandler(new JsonErrorHandler());
                server.insertHandler(new NoUpgrades());
            });
            config.jetty.addConnector((server, httpConfig) -> HttpServer.connector(server, httpConfig, admin.host(), admin.port()));
            config.routes.before(ctx -> {
                RequestIds.assign(ctx);
                Methods.refuseUntaken(ctx);
            });
            if (admin.key().isEmpty()) {
                config.routes.before(ctx -> fromThisMachine(ctx, admin.host()));
            }
            Handler guard = ctx -> requireKey(ctx, admin.key());
            config.routes.before("/metrics", guard);
            config.routes.before("/admin/*", guard);
            // Jetty leaves a pair it cannot decode out of the parameters: ?window=5m% would answer the default window.
            config.routes.before(ctx -> QueryParameters.requireDecodable(ctx.queryString()));
            getAndHead(config.routes, "/metrics", takingNone(
                    ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(registry.scrape())));
            getAndHead(config.routes, "/admin/overview", ctx -> Responses.json(ctx, timeline.overview(
                    Params.window(onlyParameter(ctx, "window"), "window", DEFAULT_WINDOW, Timeline.MAX_WINDOW))));
            getAndHead(config.routes, "/admin/timeline",
                    ctx -> Responses.json(ctx, new Points(timeline.points(since(onlyParameter(ctx, "since"))))));
            getAndHead(config.routes, "/admin/apps", takingNone(appAdmin::list));
            config.routes.post("/admin/apps", takingNone(appAdmin::create));
            config.routes.delete("/admin/apps/{name}", takingNone(appAdmin::delete));
            getAndHead(config.routes, "/admin/apps/{name}/keys", takingNone(appAdmin::keys));
            config.routes.post("/admin/apps/{name}/keys", takingNone(appAdmin::issueKey));
            config.routes.delete("/admin/apps/{name}/keys/{key_id}", takingNone(appAdmin::revokeKey));
            config.routes.put("/admin/apps/{name}/cors", takingNone(appAdmin::setOrigins));
            ASSETS.forEach((path, asset) -> {
                byte[] bytes = asset.bytes();
                getAndHead(config.routes, path,
                        ctx -> ctx.contentType(asset.contentType()).header("Cache-Control", "no-cache").result(bytes));
            });
            getAndHead(config.routes, "/", ctx -> ctx.redirect("/dashboard"));
            config.http.prefer405over404 = true;
            config.routes.exception(HttpResponseException.class, (e, ctx) -> Problems.respond(e, ctx));
            config.routes.exception(Exception.class, (e, ctx) -> Problems.respond(e, ctx));
            config.routes.error(405, allowed::refuse);
            config.routes.error(404, ctx -> {
                if (!Problems.written(ctx)) {
                    Problems.respond(new HttpResponseException(404, "the admin port answers /metrics, /admin/overview, "
                            + "/admin/timeline, /admin/apps and /dashboard; not " + Methods.label(ctx) + " " + ctx.path()), ctx);
                }
            });
        });
        app.start();
        return new AdminServer(app);
    }

    /** A GET route, and HEAD on the same path as the API port answers it: the same headers, and Jetty sends no body. */
    private static void getAndHead(RoutesConfig routes, String path, Handler handler) {
        routes.get(path, handler);
        routes.head(path, handler);
    }

    private static Instant since(Context ctx) {
        Instant since = Params.instant(ctx, "since");
        return since == null ? Instant.EPOCH : since;
    }

    /** A route that takes no query parameter: one given ({@code /metrics?name=x}, a filter) is a mistake to report. */
    private static Handler takingNone(Handler handler) {
        return ctx -> handler.handle(onlyParameter(ctx, null));
    }

    /**
     * A query parameter the route does not take (it takes {@code name}, or none when that is null), or its own given
     * twice, is a mistake to report, not one to ignore.
     */
    private static Context onlyParameter(Context ctx, String name) {
        for (var given : ctx.queryParamMap().entrySet()) {
            if (!given.getKey().equals(name)) {
                throw new InvalidInput(given.getKey(), "is not a parameter of " + ctx.path() + "; it takes "
                        + (name == null ? "none" : "'" + name + "'"));
            }
            if (given.getValue().size() > 1) { // which one was meant would be a guess
                throw new InvalidInput(name, "is given " + given.getValue().size() + " times; give it once");
            }
        }
        return ctx;
    }

    /**
     * Without a key the port trusts whoever reaches it, on loopback this machine: and so any web page its browser
     * shows. A page can give a name of its own the address 127.0.0.1 (DNS rebinding) and read the port as its own
     * origin, or post a form to it from another site. So a keyless port answers only requests addressed to an IP,
     * {@code localhost} or its own host setting, and changes something only for a page it served itself.
     */
    private static void fromThisMachine(Context ctx, String ownHost) {
        String host = ctx.header("Host");
        String name = host == null ? null : host.replaceFirst(":\\d*$", "").toLowerCase(Locale.ROOT);
        if (name != null && !name.equals("localhost") && !name.equals(ownHost) && !IP_LITERAL.matcher(name).matches()) {
            throw new Forbidden("the admin port without PARLEY_ADMIN_KEY answers requests addressed to an IP address or "
                    + "localhost only, not to " + name + ": a web page can give its own name this machine's address");
        }
        String origin = ctx.header("Origin");
        boolean changes = !(ctx.req().getMethod().equals("GET") || ctx.req().getMethod().equals("HEAD"));
        if (changes && origin != null && !origin.equalsIgnoreCase("http://" + host)) {
            throw new Forbidden("the admin port without PARLEY_ADMIN_KEY takes changes only from its own pages and from "
                    + "clients that send no Origin, not from " + origin);
        }
    }

    private static void requireKey(Context ctx, Optional<String> key) {
        if (key.isEmpty()) {
            return;
        }
        String header = Auth.oneAuthorization(ctx);
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), key.get().getBytes(StandardCharsets.UTF_8))) {
            throw new Unauthorized("send the admin key (PARLEY_ADMIN_KEY) as 'Authorization: Bearer <key>'");
        }
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }
}
