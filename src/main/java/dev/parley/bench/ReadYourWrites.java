package dev.parley.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * What read-your-writes costs with a read replica: a message appended, then read back at once, a filtered
 * history page (never cached, so a replica may serve it) with the token the append answered with, and
 * the same without the token. One client, one request at a time: latency, not throughput.
 */
final class ReadYourWrites {
    private static final String HEADER = "Parley-Consistency";

    private ReadYourWrites() {
    }

    static void measure(URI base, String key, Population population, int rounds, PrintWriter out)
            throws IOException, InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        var random = new SplittableRandom(11);
        Histogram withToken = new Histogram(3); // microseconds, as Workload records them
        Histogram without = new Histogram(3);
        int staleWithToken = 0;
        int staleWithout = 0;
        for (int i = 0; i < rounds; i++) {
            long conversation = population.pick(random).conversationId();
            String withText = "ryw " + i + " with";
            String token = append(http, base, key, conversation, withText);
            long began = System.nanoTime();
            staleWithToken += newestIs(http, base, key, conversation, token, withText) ? 0 : 1;
            withToken.recordValue((System.nanoTime() - began) / 1000);
            String withoutText = "ryw " + i + " without";
            append(http, base, key, conversation, withoutText);
            began = System.nanoTime();
            staleWithout += newestIs(http, base, key, conversation, null, withoutText) ? 0 : 1;
            without.recordValue((System.nanoTime() - began) / 1000);
        }
        out.printf("read right after a write, %d rounds, one client:%n", rounds);
        out.printf("  with the write's token:    p50 %.2f ms, p99 %.2f ms, stale answers %d%n",
                percentile(withToken, 50), percentile(withToken, 99), staleWithToken);
        out.printf("  without it:                p50 %.2f ms, p99 %.2f ms, stale answers %d%n",
                percentile(without, 50), percentile(without, 99), staleWithout);
        out.flush();
    }

    private static String append(HttpClient http, URI base, String key, long conversation, String text)
            throws IOException, InterruptedException {
        var response = http.send(HttpRequest.newBuilder(base.resolve("/v1/conversations/" + conversation + "/messages"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"" + text + "\"}")).build(),
                HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() != 201) {
            throw new IOException("an append answered " + response.statusCode());
        }
        return response.headers().firstValue(HEADER)
                .orElseThrow(() -> new IOException("an append answered no " + HEADER + ": is the replica configured?"));
    }

    /** Whether the newest user message of the conversation, read now, is {@code text}. */
    private static boolean newestIs(HttpClient http, URI base, String key, long conversation, String token, String text)
            throws IOException, InterruptedException {
        var request = HttpRequest.newBuilder(base.resolve("/v1/conversations/" + conversation + "/messages?role=user&limit=1"))
                .header("Authorization", "Bearer " + key);
        if (token != null) {
            request.header(HEADER, token);
        }
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("a history read answered " + response.statusCode());
        }
        return response.body().contains("\"content\":\"" + text + "\"");
    }

    private static double percentile(Histogram micros, double percent) {
        return micros.getValueAtPercentile(percent) / 1000.0;
    }
}
