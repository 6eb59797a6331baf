package dev.parley.http;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.analytics.Analytics;
import dev.parley.analytics.AnalyticsRefresh;
import dev.parley.apps.ApiKeys;
import dev.parley.apps.Origins;
import dev.parley.apps.UserTokens;
import dev.parley.cache.ReadCache;
import dev.parley.chat.Characters;
import dev.parley.chat.CharacterMessages;
import dev.parley.chat.Conversations;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.Inbox;
import dev.parley.chat.Leaderboards;
import dev.parley.chat.Limits;
import dev.parley.chat.Members;
import dev.parley.chat.MessageLog;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Stats;
import dev.parley.chat.UserReach;
import dev.parley.chat.WindowCounts;
import dev.parley.chat.Users;
import dev.parley.context.ChatContext;
import dev.parley.db.DatabaseWatch;
import dev.parley.db.Lane;
import dev.parley.db.Replicas;
import dev.parley.lifecycle.Erasure;
import dev.parley.lifecycle.Import;
import dev.parley.lifecycle.Retention;
import dev.parley.lifecycle.UserExport;
import dev.parley.live.Presence;
import dev.parley.live.Typing;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.metrics.Slowest;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.JavalinState;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.router.Endpoint;
import io.javalin.router.ParsedEndpoint;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;

/** The HTTP server: Javalin on Jetty 12 with virtual threads, the route table, and problem+json for every error. */
public final class HttpServer implements AutoCloseable {
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);
    private static final int ACCEPT_QUEUE = 1024;

    /**
     * A plain HTTP/1.1 connector, for either port. Its header cache matches case: by default Jetty matches the header
     * lines a connection sent before without it, so a key with its case changed, sent after the real one on the same
     * connection, was read as the real one.
     */
    static ServerConnector connector(Server server, HttpConfiguration httpConfig, String host, int port) {
        httpConfig.setHeaderCacheCaseSensitive(true);
        var connector = new ServerConnector(server, new HttpConnectionFactory(httpConfig));
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }

    /** What the routes need, wired by hand in {@code Parley}. */
    public record Services(DatabaseWatch watch, ApiKeys apiKeys, UserTokens userTokens, UserReach userReach, Origins origins,
                           ReadCache cache, Characters characters, Users users,
                           Conversations conversations, MessageLog messageLog, GroupCommit appends, Inbox inbox,
                           ReadMarkers readMarkers, Members members, ChatContext context, Stats stats, Leaderboards leaderboards,
                           CharacterMessages characterMessages, WindowCounts windowCounts, Memories memories, Recall recall,
                           MessageSearch search, Languages languages, Limits limits, Typing typing, Presence presence,
                           Analytics analytics, AnalyticsRefresh analyticsRefresh, Erasure erasure, UserExport export, Retention retention, Import imports, Clock clock,
                           PrometheusMeterRegistry registry, Slowest slowest, Replicas replicas) {
    }

    private final Javalin app;
    private final Drain drain;
    private final List<String> endpoints;

    private HttpServer(Javalin app, Drain drain, List<String> endpoints) {
        this.app = app;
        this.drain = drain;
        this.endpoints = endpoints;
    }

    /** Where to listen, the largest body taken, and each API key's rate limit (requests a second, 0: none) and burst. */
    public record Options(String host, int port, long maxBodyBytes, int rateLimit, int rateBurst) {
    }

    public static HttpServer start(Services services, Options options) {
        var users = new UserHandlers(services.users(), services.inbox(), services.stats(), services.leaderboards(), services.cache(),
                services.limits());
        var messages = new MessageHandlers(services.appends(), services.messageLog(), services.cache(), services.limits(),
                services.clock());
        List<Route> routes = Routes.table(services.limits(),
                new CharacterHandlers(services.characters(), services.characterMessages(), services.windowCounts(), services.limits()),
                users,
                new ConversationHandlers(services.conversations(), services.readMarkers(), services.members(),
                        services.context(), services.windowCounts(), services.languages(), services.limits(),
                        services.clock()),
                messages,
                new MemoryHandlers(services.memories(), services.recall(), services.languages(), services.userReach(),
                        services.limits(), services.clock()),
                new SearchHandlers(services.search(), services.memories(), services.languages()),
                new LiveHandlers(services.typing(), services.presence()),
                new MetaHandlers(services.watch(), services.stats(), services.windowCounts()),
                new Warmup(services.users(), services.conversations(), services.characters(), users, messages, services.recall()),
                new AnalyticsHandlers(services.analytics(), services.analyticsRefresh(), services.clock()),
                new LifecycleHandlers(services.erasure(), services.export(), services.retention(), services.imports(),
                        options.maxBodyBytes()),
                new TokenHandlers(services.userTokens()));
        var userTokens = new UserTokenAccess(services.userReach());
        var consistency = new ConsistencyTokens(services.replicas());
        var auth = new Auth(services.apiKeys(), services.userTokens(), options.rateLimit() == 0 ? null
                : new RateLimiter(options.rateLimit(), options.rateBurst(), Ticker.systemTicker()));
        List<String> endpoints = new CopyOnWriteArrayList<>();
        var drain = new Drain();
        Javalin app = Javalin.create(config -> {
            config.events.handlerAdded(added -> {
                if (added.getHttpMethod().isHttpMethod() && added.getHttpMethod() != HandlerType.HEAD) {
                    endpoints.add(added.getHttpMethod().name() + " " + added.getPath());
                }
            });
            config.startup.showJavalinBanner = false;
            config.concurrency.useVirtualThreads = true;
            config.http.maxRequestSize = options.maxBodyBytes();
            config.http.defaultContentType = "application/json";
            // Responses gzips what is worth it, with Vary: Accept-Encoding; Javalin's gzip sent large problems without it.
            config.http.compressionStrategy = CompressionStrategy.NONE;
            config.jetty.modifyServer(server -> {
                server.insertHandler(new GracefulHandler());
                server.insertHandler(new NoUpgrades());
                server.setStopTimeout(DRAIN_TIMEOUT.toMillis());
                server.setErrorHandler(new JsonErrorHandler());
            });
            config.jetty.modifyServletContextHandler(handler -> handler.setErrorHandler(new JsonErrorHandler()));
            config.jetty.addConnector((server, httpConfig) -> {
                var connector = connector(server, httpConfig, options.host(), options.port());
                // The default backlog (50) overflows when hundreds of clients connect at once.
                connector.setAcceptQueueSize(ACCEPT_QUEUE);
                return connector;
            });
            config.routes.before(ctx -> {
                RequestIds.assign(ctx);
                AccessLog.begin(ctx);
                Methods.refuseUntaken(ctx);
            });
            config.routes.before(drain::admit);
            config.routes.before("/v1/*", new Cors(services.origins()).around(auth::authenticate));
            config.routes.after(new UnreadBodies(2 * options.maxBodyBytes())::readRest);
            config.routes.after(HttpServer::noTypeWithoutContent);
            var allowed = new AllowedMethods(routes);
            for (Route route : RouteOrder.hotFirst(routes)) {
                Handler declared = Preconditions.checked(route,
                        QueryParameters.declaredOnly(route, Requests.bodiless(route, route.handler())));
                Handler handler = drain.tracked(Responses.rethrowingWriteFailures(notShadowed(route, allowed,
                        logged(route, route.authenticated()
                                ? onBehalfOfApp(userTokens.guarded(route, consistency.around(route, declared))) : declared))));
                config.routes.addHttpHandler(route.method(), route.path(), handler);
                if (route.method() == HandlerType.GET) { // load balancers probe with HEAD; Jetty sends no body for it
                    config.routes.addHttpHandler(HandlerType.HEAD, route.path(), handler);
                }
            }
            config.http.prefer405over404 = true;
            config.routes.exception(HttpResponseException.class, (e, ctx) -> Problems.respond(e, ctx));
            config.routes.exception(Exception.class, (e, ctx) -> Problems.respond(e, ctx));
            config.routes.error(404, ctx -> unrouted(ctx, allowed));
            config.routes.error(405, ctx -> unrouted(ctx, allowed));
            var timers = new RequestTimers(services.registry(), services.slowest());
            var javalin = config.unsafe;
            config.requestLogger.http((ctx, millis) -> {
                var endpoint = answering(ctx, javalin);
                long nanos = (long) (millis * 1_000_000);
                timers.record(Methods.label(ctx), endpoint, ctx.statusCode(), nanos);
                AccessLog.end(ctx, endpoint, nanos);
            });
        });
        app.start();
        return new HttpServer(app, drain, List.copyOf(endpoints));
    }

    /**
     * A route whose parameter took the literal of a more specific route's path ({@code GET …/messages/batch}, which
     * {@code …/messages/{message_id}} matches) answers 405 as an unrouted method would, not "message_id must be an id".
     */
    private static Handler notShadowed(Route route, AllowedMethods allowed, Handler handler) {
        if (!allowed.mayBeShadowed(route.path())) {
            return handler;
        }
        return ctx -> {
            if (allowed.belongsElsewhere(route.path(), ctx.path())) {
                allowed.refuse(ctx);
            } else {
                handler.handle(ctx);
            }
        };
    }

    /**
     * The endpoint that answered; for a request refused before routing (401 for its key, 429 for its rate, 503 while
     * draining or while the key cannot be looked up) the one that would have, so metrics and the access log name its
     * route: a dashboard per route sees its refusals. Only that branch looks it up; no route answers a 404 or 405.
     */
    private static Endpoint answering(Context ctx, JavalinState javalin) {
        Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
        if (matched != null || ctx.statusCode() == 404 || ctx.statusCode() == 405) {
            return matched;
        }
        ParsedEndpoint wouldHave = javalin.internalRouter.findFirstHttpHandlerEntry(ctx.method(), ctx.path());
        return wouldHave == null ? null : wouldHave.endpoint;
    }

    /**
     * A 204 has no body, so no Content-Type: the default one (application/json) would describe nothing. (A 304 is sent
     * before this runs, and clears its own: Responses#notModified.)
     */
    private static void noTypeWithoutContent(Context ctx) {
        if (ctx.statusCode() == 204) {
            ctx.res().setContentType(null);
        }
    }

    /** Names the route and the app in the MDC for the lines logged while the route runs. */
    private static Handler logged(Route route, Handler handler) {
        String method = route.method().name();
        return ctx -> {
            AccessLog.routed(method, route.path(), Auth.appIfKnown(ctx));
            handler.handle(ctx);
        };
    }

    /** Runs an authenticated route in its app's lane, so apps take turns for the pool's connections. */
    private static Handler onBehalfOfApp(Handler handler) {
        return ctx -> Lane.runAs(Auth.app(ctx), () -> handler.handle(ctx));
    }

    /**
     * Javalin's own 404 and 405 (no route matches) get a problem document; a 405 also says which
     * methods the path allows. Only routes raise 404s of their own (an unknown id): those are kept.
     */
    private static void unrouted(Context ctx, AllowedMethods allowed) {
        if (ctx.statusCode() == 405) {
            allowed.refuse(ctx);
        } else if (!Problems.written(ctx)) {
            Problems.respond(new HttpResponseException(404, "no route matches " + ctx.path()), ctx);
        }
    }

    public int port() {
        return app.port();
    }

    /** Every endpoint Jetty answers, as "METHOD /path/{param}": what the API document must cover. */
    public List<String> endpoints() {
        return endpoints;
    }

    /** Answers new requests 503 shutting-down, lets those in flight finish (up to 20 s), then stops listening. */
    @Override
    public void close() {
        drain.drain(DRAIN_TIMEOUT);
        app.stop();
    }
}
