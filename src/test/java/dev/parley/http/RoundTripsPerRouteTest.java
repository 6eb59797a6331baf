package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * What the routes of a chat turn cost in round trips to PostgreSQL with the cache off, so that one more is a
 * decision and not an accident. Each is the fewest seen over several calls: the instance's own background work
 * (its database watch, its change notices) shares the count and only ever adds to it.
 */
class RoundTripsPerRouteTest {
    private static final String DB = "parley_round_trips";
    private static final int CALLS = 8;

    @Test
    void each_route_of_a_chat_turn_costs_the_round_trips_it_is_known_for() {
        TestDatabase.get().migrated(DB);
        try (RoundTrips trips = RoundTrips.to(TestDatabase.get().target(DB));
             Parley parley = TestServer.startOn(trips.target(), Map.of("PARLEY_CACHE_SIZE", "0", "PARLEY_POOL_SIZE", "2"))) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("round-trips").apiKey());
            String character = Fixtures.character(api, "Luna");
            String user = Fixtures.user(api, "ada");
            String chat = Fixtures.conversation(api, user, character);
            String newest = null;
            for (int i = 0; i < 8; i++) {
                newest = Fixtures.say(api, chat, "user", "the stars tonight, " + i).get("id").asText();
            }
            api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", "counts the stars"));
            String read = newest;
            Map<String, Supplier<Api.Response>> routes = new LinkedHashMap<>();
            routes.put("append", () -> api.post("/v1/conversations/" + chat + "/messages", Map.of("content", "and more stars")));
            routes.put("append a batch", () -> api.post("/v1/conversations/" + chat + "/messages/batch", Map.of("messages",
                    List.of(Map.of("role", "user", "content", "one"), Map.of("role", "assistant", "content", "two")))));
            routes.put("mark read", () -> api.post("/v1/conversations/" + chat + "/read", Map.of("message_id", read)));
            routes.put("latest history", () -> api.get("/v1/conversations/" + chat + "/messages?limit=20"));
            routes.put("inbox", () -> api.get("/v1/users/" + user + "/inbox"));
            routes.put("conversation", () -> api.get("/v1/conversations/" + chat));
            routes.put("character", () -> api.get("/v1/characters/" + character));
            routes.put("user", () -> api.get("/v1/users/" + user));
            routes.put("search a user's messages", () -> api.get("/v1/search/messages?q=stars&user_id=" + user));
            routes.put("search with the archive", () -> api.get("/v1/search/messages?q=stars&include_archived=true&user_id=" + user));
            routes.put("search a user's memories", () -> api.get("/v1/search/memories?q=stars&user_id=" + user));
            routes.put("search a user's memories, no match", () -> api.get("/v1/search/memories?q=comets&user_id=" + user));
            routes.put("context", () -> api.post("/v1/conversations/" + chat + "/context", Map.of("messages", 5)));

            Map<String, Integer> fewest = new LinkedHashMap<>();
            routes.forEach((route, call) -> {
                for (int i = 0; i < CALLS; i++) {
                    trips.reset();
                    assertThat(call.get().status()).as(route).isBetween(200, 201);
                    fewest.merge(route, trips.count(), Math::min);
                }
            });

            assertThat(fewest).isEqualTo(Map.ofEntries(Map.entry("append", 2), Map.entry("append a batch", 2),
                    Map.entry("mark read", 2), Map.entry("latest history", 2), Map.entry("inbox", 1), Map.entry("conversation", 1),
                    Map.entry("character", 1), Map.entry("user", 1), Map.entry("search a user's messages", 2),
                    Map.entry("search with the archive", 3), Map.entry("search a user's memories", 1),
                    Map.entry("search a user's memories, no match", 2), Map.entry("context", 4)));
        }
    }
}
