package dev.parley.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.parley.chat.Stats;
import dev.parley.chat.WindowCounts;
import dev.parley.db.DatabaseWatch;
import dev.parley.json.Nullable;
import io.javalin.http.Context;
import java.time.Duration;

/** Health and app-wide estimates (metrics are on the admin port). Health never borrows from the request pool: it reads the {@link DatabaseWatch}. */
final class MetaHandlers {
    /**
     * {@code status} is "ok" or "unavailable"; {@code database} "up" or "down"; {@code schema} "current"
     * or "behind" (this build's migrations are not all applied); {@code problem} says why when not ok.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Health(String status, String database, String schema, @Nullable String problem) {
    }

    /** The process answers: nothing else is checked. */
    record Liveness(String status) {
    }

    private final DatabaseWatch watch;
    static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);

    private final Stats stats;
    private final WindowCounts counts;

    MetaHandlers(DatabaseWatch watch, Stats stats, WindowCounts counts) {
        this.watch = watch;
        this.stats = stats;
        this.counts = counts;
    }

    void live(Context ctx) {
        Responses.json(ctx, new Liveness("ok"));
    }

    /** 200 when the database answers and this build's schema is in place, else 503 with Retry-After. */
    void ready(Context ctx) {
        DatabaseWatch.State state = watch.state();
        boolean ready = state.reachable() && state.schemaCurrent();
        if (!ready) {
            ctx.header("Retry-After", "1");
        }
        Responses.json(ctx, ready ? 200 : 503, new Health(ready ? "ok" : "unavailable", state.reachable() ? "up" : "down",
                state.schemaCurrent() ? "current" : "behind", state.problem()));
    }

    void messagesInWindow(Context ctx) {
        Duration window = Params.window(ctx, "window", DEFAULT_WINDOW, WindowCounts.MAX_WINDOW);
        Responses.json(ctx, counts.app(Auth.app(ctx), window));
    }

    void appStats(Context ctx) {
        Responses.json(ctx, stats.appCounts(Auth.app(ctx)));
    }
}
