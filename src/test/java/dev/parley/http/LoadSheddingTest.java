package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One app's storm does not reach another app: each app holds at most its share of the pool
 * (PARLEY_APP_SHARE), apps take turns for connections, and a key over its rate (PARLEY_RATE_LIMIT)
 * is told 429 with Retry-After at once. The flooding app gets 429s and 503s; the other app none.
 */
class LoadSheddingTest {
    private static final String DB = "parley_load_shedding";
    private static Parley parley;

    @BeforeAll
    static void start() {
        // Requests wait on a row lock the test holds for as long as it needs: no lock budget cuts them short.
        parley = TestServer.start(DB, Map.of("PARLEY_POOL_SIZE", "4", "PARLEY_APP_SHARE", "50", "PARLEY_POOL_TIMEOUT", "1s",
                "PARLEY_RATE_LIMIT", "100", "PARLEY_RATE_BURST", "100", "PARLEY_STATEMENT_TIMEOUT", "1m", "PARLEY_LOCK_TIMEOUT", "1m"));
    }

    @AfterAll
    static void stop() {
        parley.close();
    }

    @Test
    void a_flooding_app_gets_429_and_503_while_another_app_gets_neither() throws Exception {
        Api flood = app("flood");
        Api quiet = app("quiet");
        String floodConversation = Fixtures.conversation(flood).get("id").asText();
        String quietConversation = Fixtures.conversation(quiet).get("id").asText();
        Map<Integer, AtomicInteger> floodStatuses = new ConcurrentHashMap<>();

        ExecutorService flooders = Executors.newFixedThreadPool(24);
        List<CompletableFuture<Void>> running = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            running.add(CompletableFuture.runAsync(() -> {
                for (int j = 0; j < 40; j++) {
                    var response = flood.get("/v1/search/messages?q=storm&conversation_id=" + floodConversation);
                    floodStatuses.computeIfAbsent(response.status(), s -> new AtomicInteger()).incrementAndGet();
                }
            }, flooders));
        }
        List<Api.Response> quietAnswers = new ArrayList<>();
        for (int i = 0; i < 50 && running.stream().anyMatch(r -> !r.isDone()); i++) { // within its own rate
            quietAnswers.add(quiet.get("/v1/conversations/" + quietConversation + "/messages"));
        }
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get();
        flooders.shutdown();

        assertThat(floodStatuses.keySet()).as("flood: %s", floodStatuses).contains(429).allMatch(s -> s == 200 || s == 429 || s == 503);
        assertThat(quietAnswers).isNotEmpty().allSatisfy(answer -> assertThat(answer.status()).as(answer.toString()).isEqualTo(200));
        Api.Response limited = flood.get("/v1/characters");
        for (int i = 0; i < 1000 && limited.status() != 429; i++) { // faster than its rate: a 429 must come
            limited = flood.get("/v1/characters");
        }
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.header("Retry-After")).isEqualTo("1");
        assertThat(limited.header("RateLimit-Remaining")).isEqualTo("0");
        assertThat(limited.json().get("type").asText()).endsWith("/rate-limited");
        assertThat(quiet.get("/v1/characters").header("RateLimit-Limit")).isEqualTo("100");
        assertThat(TestServer.metrics(parley)).as("refused before routing, counted under the route it asked for")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"/v1/characters\",status=\"429\"} [1-9]")
                .doesNotContainPattern("route=\"unmatched\",status=\"429\"");
    }

    @Test
    void an_app_whose_requests_hang_holds_only_its_share_and_health_is_unaffected() throws Exception {
        Api stuck = app("stuck");
        Api other = app("other");
        String conversation = Fixtures.conversation(stuck).get("id").asText();
        String character = Fixtures.character(other, "Free");

        try (Connection blocker = TestDatabase.get().connect(DB)) {
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("SELECT 1 FROM conversations WHERE conversation_id = " + conversation + " FOR UPDATE");
            List<CompletableFuture<Api.Response>> hanging = new ArrayList<>();
            for (int i = 0; i < 4; i++) { // four patches for a pool of four; the app may hold two
                int n = i;
                hanging.add(CompletableFuture.supplyAsync(() -> stuck.patch("/v1/conversations/" + conversation,
                        Map.of("state", Map.of("k" + n, n)))));
            }
            Wait.until("two patches to hold connections, waiting on the row lock", Duration.ofSeconds(10),
                    () -> lockWaits(blocker) == 2);

            var read = other.get("/v1/characters/" + character);
            var ready = other.get("/health/ready");

            assertThat(read.status()).as(read.toString()).isEqualTo(200);
            assertThat(ready.status()).as(ready.toString()).isEqualTo(200);
            assertThat(lockWaits(blocker)).as("the app still holds only its share").isEqualTo(2);
            blocker.rollback();
            for (var patch : hanging) {
                assertThat(patch.get().status()).isIn(200, 503);
            }
        }
    }

    private static Api app(String name) {
        return new Api("http://127.0.0.1:" + parley.port(), parley.apps().create(name + "-" + System.nanoTime()).apiKey());
    }

    private static long lockWaits(Connection connection) throws Exception {
        return TestDatabase.lockWaits(connection, DB);
    }
}
