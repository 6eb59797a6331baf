package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Warm-up loads what login shows through the GET routes' own loaders: the proof is the cache's own
 * count of hits and misses ({@code parley_cache_requests_total}) for the GETs that follow.
 */
class WarmupTest {
    private static final Pattern REQUESTS = Pattern.compile(
            "(?m)^parley_cache_requests_total\\{cache=\"(\\w+)\",result=\"(hit|miss)\",?} ([0-9.E]+)$");

    private final Api api = TestServer.newApp();
    private final String luna = Fixtures.character(api, "Luna");
    private final String sol = Fixtures.character(api, "Sol");
    private final String user = Fixtures.user(api, "login-" + System.nanoTime());

    @Test
    void after_a_warm_up_the_gets_a_login_makes_are_all_hits() {
        List<String> conversations = List.of(Fixtures.conversation(api, user, luna), Fixtures.conversation(api, user, sol),
                api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_ids", List.of(luna, sol))).get("id").asText());
        for (String conversation : conversations) {
            Fixtures.say(api, conversation, "user", "hello");
            Fixtures.say(api, conversation, "assistant", "hi there");
        }

        awaitNoticesOfTheseWrites();
        JsonNode warmed = api.postOk(200, "/v1/users/" + user + "/warm", null);
        Map<String, Double> before = requests();
        api.getOk("/v1/users/" + user);
        api.getOk("/v1/users/" + user + "/inbox");
        for (String conversation : conversations) {
            api.getOk("/v1/conversations/" + conversation);
            api.getOk("/v1/conversations/" + conversation + "/messages");
        }
        api.getOk("/v1/characters/" + luna);
        api.getOk("/v1/characters/" + sol);
        Map<String, Double> after = requests();

        assertThat(warmed).isEqualTo(Json.parse("{\"user_id\": \"" + user + "\", \"conversations\": 3, \"history_pages\": 3,"
                + " \"messages\": 6, \"characters\": 2, \"memories\": 0}"));
        for (var family : Map.of("user", 1, "inbox", 1, "conversation", 3, "history", 3, "character", 2).entrySet()) {
            assertThat(delta(before, after, family.getKey() + " hit")).as(family.getKey() + " hits")
                    .isEqualTo(family.getValue().longValue());
            assertThat(delta(before, after, family.getKey() + " miss")).as(family.getKey() + " misses").isZero();
        }
    }

    @Test
    void a_warm_up_reads_the_users_memories_of_their_characters_for_the_first_recall() {
        Fixtures.say(api, Fixtures.conversation(api, user, luna), "user", "hello");
        Fixtures.say(api, Fixtures.conversation(api, user, sol), "user", "hi");
        String nova = Fixtures.character(api, "Nova"); // none of the user's conversations is with Nova
        for (var memory : Map.of("plays the cello", luna, "has a dog", luna, "likes rain", sol, "hates mornings", nova).entrySet()) {
            api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", memory.getValue(), "content", memory.getKey(),
                    "embedding", List.of(1.0, 0.5, 0.25)));
        }

        JsonNode warmed = api.postOk(200, "/v1/users/" + user + "/warm", null);
        double read = TestServer.metric(api, "parley_recall_embeddings_read_total");
        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> {
            for (String character : List.of(luna, sol)) {
                api.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id", character, "embedding", List.of(1.0, 0.5, 0.25)));
            }
        });

        assertThat(warmed.get("memories").asInt()).as("Luna's two and Sol's one; not Nova's").isEqualTo(3);
        assertThat(TestServer.metric(api, "parley_recall_embeddings_read_total") - read).as("the recalls read none").isZero();
        assertThat(ran).as("the recalls read only the memories they return, once each").isEqualTo(Map.of("memory.get_many", 2.0));
    }

    @Test
    void warming_the_sizes_a_product_asks_for_warms_those_pages() {
        for (int i = 0; i < 3; i++) {
            Fixtures.say(api, Fixtures.conversation(api, user, luna), "user", "hello " + i);
        }

        awaitNoticesOfTheseWrites();
        JsonNode warmed = api.postOk(200, "/v1/users/" + user + "/warm?limit=2&messages=10", null);
        Map<String, Double> before = requests();
        api.getOk("/v1/users/" + user + "/inbox?limit=2");
        Map<String, Double> after = requests();

        assertThat(warmed.get("conversations").asInt()).as("the first page of 2").isEqualTo(2);
        assertThat(warmed.get("history_pages").asInt()).isEqualTo(2);
        assertThat(delta(before, after, "inbox hit")).isEqualTo(1);
    }

    @Test
    void an_unknown_user_or_another_apps_user_is_404() {
        assertThat(api.post("/v1/users/987654321012/warm", null).status()).isEqualTo(404);
        Api other = TestServer.newApp();
        var response = other.post("/v1/users/" + user + "/warm", null);
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.isProblem()).isTrue();
    }

    /**
     * Waits until this instance has heard the change notices of the writes above (V10), which would
     * otherwise drop what the warm-up loads when they arrive: it hears them in commit order, so once it
     * has heard of a later write, it has heard of them all.
     */
    private void awaitNoticesOfTheseWrites() {
        String bystander = Fixtures.user(api, "bystander-" + System.nanoTime());
        long heard = notices("u");
        api.postOk(200, "/v1/users", Map.of("external_id", api.getOk("/v1/users/" + bystander).get("external_id").asText(),
                "profile", Map.of("seen", true)));
        Wait.until("the notice of a profile update", Duration.ofSeconds(5), () -> notices("u") > heard);
    }

    private long notices(String kind) {
        Matcher line = Pattern.compile("(?m)^parley_cache_notices_total\\{kind=\"" + kind + "\",?} ([0-9.E]+)$")
                .matcher(TestServer.metrics(api));
        return line.find() ? Math.round(Double.parseDouble(line.group(1))) : 0;
    }

    /** The cache's requests so far by "family result", from the metrics page. */
    private Map<String, Double> requests() {
        Map<String, Double> counts = new HashMap<>();
        Matcher line = REQUESTS.matcher(TestServer.metrics(api));
        while (line.find()) {
            counts.put(line.group(1) + " " + line.group(2), Double.parseDouble(line.group(3)));
        }
        return counts;
    }

    private static long delta(Map<String, Double> before, Map<String, Double> after, String key) {
        return Math.round(after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0));
    }
}
