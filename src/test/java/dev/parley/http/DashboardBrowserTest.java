package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Browser;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import dev.parley.support.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The dashboard in a real headless Chromium: it loads offline from the jar, draws, and follows the traffic. */
class DashboardBrowserTest {
    private static final String KEY = "dashboard-test-admin-key-0123456789";
    private static final Path SCREENSHOT = Path.of("target/dashboard.png");
    /** What the page shows, read from its DOM and from the charts uPlot drew. */
    private static final String STATE = """
            const s = window.parleyDashboard;
            return { refreshes: s.refreshes, points: s.points.length, status: document.getElementById('status').textContent,
                     charts: document.querySelectorAll('.uplot canvas').length,
                     drawn: Object.values(s.charts).map(c => c.data[0].length),
                     rate: document.getElementById('tile-rate').textContent,
                     routes: Array.from(document.querySelectorAll('#routes tbody tr td:first-child')).map(td => td.textContent),
                     tables: document.querySelectorAll('#tables tbody tr').length };""";
    /** The cache hit-rate chart given 300 steps with one reading between gaps (the cache read once in a while). */
    private static final String LONE_READING = """
            const times = Array.from({ length: 300 }, (_, i) => 1767225600 + 5 * i);
            window.parleyDashboard.charts.cache.setData([times, times.map((_, i) => i === 150 ? 0.9 : null)]);""";
    /** How many pixels around that reading are in the series' colour (#805ad5). */
    private static final String LONE_READING_PIXELS = """
            const chart = window.parleyDashboard.charts.cache;
            const x = Math.round(chart.valToPos(chart.data[0][150], 'x', true));
            const y = Math.round(chart.valToPos(0.9, 'y', true));
            const pixels = chart.ctx.getImageData(x - 6, y - 6, 13, 13).data;
            const near = (value, wanted) => Math.abs(value - wanted) < 40;
            let coloured = 0;
            for (let i = 0; i < pixels.length; i += 4) {
              if (pixels[i + 3] > 0 && near(pixels[i], 0x80) && near(pixels[i + 1], 0x5a) && near(pixels[i + 2], 0xd5)) coloured++;
            }
            return coloured;""";

    @Test
    void the_page_loads_draws_its_charts_from_a_running_parley_and_moves_with_the_requests() throws Exception {
        Path chromedriver = Tools.require("chromedriver", "chromium-driver");
        Tools.require("chromium", "chromium");
        Parley parley = TestServer.start("parley_dashboard", Map.of("PARLEY_ADMIN_KEY", KEY, "PARLEY_ADMIN_SAMPLE", "250ms"));
        try (Browser browser = Browser.open(chromedriver)) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("dashboard").apiKey());
            browser.go("http://127.0.0.1:" + parley.adminPort() + "/dashboard#key=" + KEY);

            JsonNode quiet = until(browser, "the page live with two points drawn", s -> s.get("status").asText().equals("live")
                    && s.get("points").asInt() >= 2 && s.get("charts").asInt() == 6);
            assertThat(quiet.get("drawn")).allSatisfy(points -> assertThat(points.asInt()).isGreaterThanOrEqualTo(2));
            assertThat(quiet.get("tables").asInt()).as("table sizes listed").isPositive();

            String user = Fixtures.conversation(api).get("user_id").asText();
            JsonNode busy = until(browser, "the search route and a rate in the page", s -> {
                for (int i = 0; i < 10; i++) {
                    api.getOk("/v1/search/messages?q=hello&user_id=" + user);
                }
                return s.get("routes").toString().contains("GET /v1/search/messages") && !s.get("rate").asText().equals("0.0");
            });
            assertThat(busy.get("refreshes").asInt()).isGreaterThan(quiet.get("refreshes").asInt());
            assertThat(busy.get("points").asInt()).isGreaterThan(quiet.get("points").asInt());

            browser.screenshot(SCREENSHOT);
            assertThat(Files.size(SCREENSHOT)).isGreaterThan(10_000);

            assertThat(browser.script("return bytes(-5 * 1024 * 1024) + ', ' + bytes(-300);").asText())
                    .as("a database that shrank").isEqualTo("-5.0 MB, -300 B"); // was "-5242880 B"
            // the page's refreshes refused (a wrong key fails them before they draw), so none redraws the chart meanwhile
            browser.script("window.parleyDashboard.key = 'not-the-key';");
            until(browser, "a refresh refused", s -> s.get("status").asText().contains("the admin key is missing or wrong"));
            browser.script(LONE_READING);
            assertThat(browser.script(LONE_READING_PIXELS).asInt()).as("the lone reading drawn, not hidden").isPositive();
        } finally {
            parley.close();
        }
    }

    private interface Check {
        boolean holds(JsonNode state) throws Exception;
    }

    private static JsonNode until(Browser browser, String what, Check check) {
        return Wait.forValue(what, Duration.ofSeconds(30), () -> {
            JsonNode state = browser.script(STATE);
            return state.has("status") && check.holds(state) ? Optional.of(state) : Optional.empty();
        });
    }
}
