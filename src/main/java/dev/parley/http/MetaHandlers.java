package dev.parley.http;

import dev.parley.chat.Stats;
import dev.parley.db.Database;
import dev.parley.db.Query;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.javalin.http.Context;

/** Health, metrics and app-wide estimates. */
final class MetaHandlers {
    private static final Query PING = new Query("health.ping", "SELECT 1");

    /** {@code database} is "up" or "down"; the status code is 503 when it is down. */
    record Health(String status, String database) {
    }

    private final Database database;
    private final Stats stats;
    private final PrometheusMeterRegistry registry;

    MetaHandlers(Database database, Stats stats, PrometheusMeterRegistry registry) {
        this.database = database;
        this.stats = stats;
        this.registry = registry;
    }

    void health(Context ctx) {
        boolean up;
        try {
            up = database.read(h -> h.first(PING, row -> true)).isPresent();
        } catch (RuntimeException e) {
            up = false;
        }
        Responses.json(ctx, up ? 200 : 503, new Health(up ? "ok" : "degraded", up ? "up" : "down"));
    }

    void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(registry.scrape());
    }

    void appStats(Context ctx) {
        Responses.json(ctx, stats.appCounts(Auth.app(ctx)));
    }
}
