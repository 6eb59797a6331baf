package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.apps.Apps;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** /metrics of a server that has answered every route, with three statuses each, stays small. */
class MetricsSizeTest {
    /**
     * What grows it is the named statements and routes, each series with at most eleven buckets (checked below): 200 KB
     * held until 2026-12-07, when each pool's HikariCP meters and the archive's fallback statements (a read marker or a
     * reply whose message is not hot) took a run to 204,956 bytes, over it in one CI run of four. A label that grew
     * with the data (an id, a text) would pass this bound many times over.
     */
    private static final int LIMIT_BYTES = 224 * 1024;
    private static final Pattern BUCKETS = Pattern.compile("(?m)^(\\w+)_bucket\\{(.*),le=\"[^\"]+\"} ");

    @Test
    void every_route_answering_three_statuses_keeps_metrics_under_200_kb_with_at_most_eleven_buckets_a_series() throws Exception {
        Parley parley = TestServer.start("parley_metrics_size", Map.of());
        try {
            Apps.Created app = parley.apps().create("busy");
            var api = new Api("http://127.0.0.1:" + parley.port(), app.apiKey());
            var samples = new ApiSamples(api);
            for (ApiSamples.Call call : samples.calls()) {
                api.sendBytes(call.method(), call.path() + (call.path().contains("?") ? "&" : "?") + "unknown_filter=1", null);
                api.sendBytes(call.method(), samples.pathWith(call, "conversation_id", "999"), null);
            }
            for (ApiSamples.Call call : samples.calls()) { // the last: the deletes among them empty what the others read
                api.sendBytes(call.method(), call.path(), call.body() == null ? null : dev.parley.json.Json.writeBytes(call.body()));
            }

            String metrics = TestServer.metrics(parley);
            java.nio.file.Files.writeString(java.nio.file.Path.of("/tmp/metrics.txt"), metrics);

            assertThat(metrics.length()).as("bytes of /metrics").isLessThan(LIMIT_BYTES);
            assertThat(metrics).contains("status=\"400\"").contains("status=\"404\"").contains("status=\"200\"");
            Map<String, Integer> bucketsPerSeries = new java.util.HashMap<>();
            Matcher bucket = BUCKETS.matcher(metrics);
            while (bucket.find()) {
                bucketsPerSeries.merge(bucket.group(1) + "{" + bucket.group(2) + "}", 1, Integer::sum);
            }
            assertThat(bucketsPerSeries).isNotEmpty();
            assertThat(bucketsPerSeries.values()).allSatisfy(count -> assertThat(count).isLessThanOrEqualTo(11));
            System.out.printf("/metrics after every route x 3: %,d bytes, %,d lines, %,d histogram series%n", metrics.length(),
                    metrics.lines().count(), bucketsPerSeries.size());
        } finally {
            parley.close();
        }
    }
}
