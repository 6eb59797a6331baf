package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.monitor.DatabaseReading.ReplicaLag;
import dev.parley.monitor.Overview.CacheStats;
import dev.parley.monitor.Overview.RouteStats;
import dev.parley.monitor.Overview.Table;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OverviewTextTest {
    private static final String RED = "\u001b[31m";
    private static final String YELLOW = "\u001b[33m";

    @Test
    void figures_past_the_thresholds_are_marked_red_or_yellow_and_healthy_ones_are_not() {
        var overview = overview(new Overview.Pool(10, 9, 1, 3, 0), 0.90, 0.25, 30, 2500);

        String screen = OverviewText.render(overview, "http://127.0.0.1:8081", true);

        assertThat(screen).contains(RED + "9/10" + "\u001b[0m") // pool 90 % > 80 %
                .contains(YELLOW + "3" + "\u001b[0m") // requests waiting
                .contains(RED + "90.0%") // PostgreSQL cache hit < 95 %
                .contains(RED + "25.0%") // dead tuples > 20 %
                .contains(RED + "replica-1 30.0 s") // lag > 10 s
                .contains(RED + "2,500.0 ms"); // p99 > 1 s
        assertThat(OverviewText.render(overview(new Overview.Pool(10, 2, 8, 0, 0), 0.999, 0.01, 0.5, 12), "x", true))
                .doesNotContain(RED);
    }

    @Test
    void without_colour_the_screen_is_plain_text_aligned_in_columns() {
        String screen = OverviewText.render(overview(new Overview.Pool(10, 9, 1, 3, 0), 0.9, 0.25, 30, 2500), "x", false);

        assertThat(screen).doesNotContain("\u001b[");
        assertThat(screen.lines().filter(l -> l.startsWith("GET /v1/")).findFirst().orElseThrow())
                .matches("GET /v1/characters +1,200\\.0 +2\\.00 ms +9\\.00 ms +2,500\\.0 ms +0\\.00");
    }

    @Test
    void a_long_route_keeps_its_method_and_a_slow_cache_its_rate() {
        String route = "DELETE /v1/conversations/{conversation_id}/messages/{message_id}";
        var overview = overview(new Overview.Pool(10, 2, 8, 0, 0), 0.999, 0.01, 0.5, 12);
        var quiet = new Overview(overview.time(), overview.windowSeconds(), overview.uptimeSeconds(), overview.requests(),
                List.of(new RouteStats(route, 0.3, 0, 2, 9, 12)), List.of(), 0, overview.pool(),
                List.of(new CacheStats("character", 0.97, 0.32)), overview.database());

        String screen = OverviewText.render(quiet, "x", false);

        assertThat(OverviewText.shortenRoute(route, 58)).hasSize(58).startsWith("DELETE …").endsWith("/messages/{message_id}");
        assertThat(screen).contains("DELETE …").contains("character 97.0% (0.3/s)");
    }

    private static Overview overview(Overview.Pool pool, double dbHit, double dead, double lag, double p99) {
        var database = new Overview.Database(Map.of("active", 3, "idle", 17), dbHit, 900, 0.5, 0, 0, 1 << 20, 0.2, 0,
                3L << 30, 12 << 20, List.of(new Table("public", "messages", 2L << 30, dead)), List.of(),
                List.of(new ReplicaLag("replica-1", lag)), List.of(), 2, false);
        return new Overview(Instant.parse("2026-12-01T00:00:00Z"), 60, 3600,
                new Overview.Requests(1200, 0, 2, 9, p99), List.of(new RouteStats("GET /v1/characters", 1200, 0, 2, 9, p99)),
                List.of(), 0, pool, List.of(new CacheStats("character", 0.97, 1100)), database);
    }
}
