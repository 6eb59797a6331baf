package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * GET /v1/search/memories pages as /v1/search/messages does: by relevance or recent, a keyset cursor of the last
 * hit's rank or created_at and its id, bound to the search that gave it.
 */
class MemorySearchPagingTest {
    private final Api api = TestServer.newApp();
    private final String sol = Fixtures.character(api, "Sol");
    private final String mira = Fixtures.character(api, "Mira");
    private final String alice = Fixtures.user(api, "alice-" + System.nanoTime());
    private final String bob = Fixtures.user(api, "bob-" + System.nanoTime());

    /** A hit as a page lists it: its memory's id, rank and created_at. */
    private record Hit(long id, double rank, Instant createdAt) {
    }

    @Test
    void by_relevance_every_page_together_lists_each_hit_once_best_first_and_ties_newest_first_across_pages() {
        List<String> stored = new ArrayList<>();
        for (int i = 0; i < 5; i++) { // five of one rank: a tie two pages of two cut through
            stored.add(remember(alice, sol, "Drinks green tea", null));
        }
        stored.add(remember(alice, sol, "Tea, tea and more tea: tea all day", null));
        stored.add(remember(alice, mira, "Spilled tea on the map", null));
        stored.add(remember(alice, sol, "Tea in the morning, coffee at night", null));
        String gone = remember(alice, sol, "Drinks green tea", null);
        api.delete("/v1/memories/" + gone);
        remember(bob, sol, "Drinks green tea", null);
        remember(alice, sol, "Prefers coffee", null);

        List<List<Hit>> pages = pages("q=tea&user_id=" + alice + "&limit=2");
        List<Hit> hits = pages.stream().flatMap(List::stream).toList();

        assertThat(pages).hasSize(4);
        assertThat(hits).extracting(hit -> String.valueOf(hit.id())).containsExactlyInAnyOrderElementsOf(stored);
        assertThat(hits).isSortedAccordingTo(Comparator.comparingDouble(Hit::rank).reversed()
                .thenComparing(Comparator.comparingLong(Hit::id).reversed()));
        assertThat(hits).isEqualTo(onePage("q=tea&user_id=" + alice + "&limit=100"));
        assertThat(tiesCut(pages)).as("a page ends inside a run of equal ranks").isPositive();
        assertThat(pages("q=tea&user_id=" + alice + "&character_id=" + sol + "&limit=3").stream().mapToInt(List::size).sum())
                .as("one character's").isEqualTo(stored.size() - 1);
    }

    @Test
    void recent_pages_list_each_hit_once_latest_created_first_and_ties_newest_stored_first_across_pages() {
        List<String> stored = new ArrayList<>();
        stored.add(remember(alice, sol, "Run a marathon", "2024-05-01T12:00:00Z"));
        for (int i = 0; i < 4; i++) { // recorded at the same instant: a tie the pages cut through
            stored.add(remember(alice, sol, "Runs on Sundays " + i, "2025-01-02T03:04:05.123456Z"));
        }
        stored.add(remember(alice, sol, "Running shoes are worn", null)); // now: the latest
        stored.add(remember(alice, mira, "Running late to the meeting", "2023-03-03T00:00:00Z"));
        String gone = remember(alice, sol, "Runs away once", "2025-06-01T00:00:00Z");
        api.delete("/v1/memories/" + gone);
        remember(bob, sol, "Runs daily", null);

        List<List<Hit>> pages = pages("q=run&order=recent&user_id=" + alice + "&limit=2");
        List<Hit> hits = pages.stream().flatMap(List::stream).toList();

        assertThat(pages).hasSize(4);
        assertThat(hits).extracting(hit -> String.valueOf(hit.id())).containsExactlyInAnyOrderElementsOf(stored);
        assertThat(hits).isSortedAccordingTo(Comparator.comparing(Hit::createdAt).reversed()
                .thenComparing(Comparator.comparingLong(Hit::id).reversed()));
        assertThat(hits.getFirst().id()).isEqualTo(Long.parseLong(stored.get(5)));
        assertThat(hits.getLast().id()).isEqualTo(Long.parseLong(stored.get(6)));
        assertThat(hits).isEqualTo(onePage("q=run&order=recent&user_id=" + alice + "&limit=100"));
        assertThat(hits.get(1).createdAt()).as("pages 1 and 2 cut a tie").isEqualTo(hits.get(2).createdAt());
        assertThat(hits.stream().allMatch(hit -> hit.rank() > 0)).as("ranked in this order too").isTrue();
    }

    @Test
    void a_cursor_continues_only_the_search_that_gave_it() {
        for (int i = 0; i < 3; i++) {
            remember(alice, sol, "Likes tea and cake " + i, null);
            remember(bob, sol, "Likes tea and cake " + i, null);
        }
        String search = "/v1/search/memories?q=tea&user_id=" + alice + "&limit=1";
        String cursor = api.getOk(search).get("next_cursor").asText();
        String recent = api.getOk(search + "&order=recent").get("next_cursor").asText();
        for (int i = 0; i < 3; i++) {
            Fixtures.say(api, Fixtures.conversation(api, alice, sol), "user", "tea note " + i);
        }
        String messages = api.getOk("/v1/search/messages?q=tea&user_id=" + alice + "&limit=1").get("next_cursor").asText();

        assertThat(api.get(search + "&cursor=" + cursor).status()).as("the same search").isEqualTo(200);
        assertThat(api.get(search + "&order=relevance&cursor=" + cursor).status()).as("relevance, said").isEqualTo(200);
        assertThat(api.get(search + "&order=recent&cursor=" + recent).status()).as("the same recent search").isEqualTo(200);
        for (String other : List.of("/v1/search/memories?q=cake&user_id=" + alice + "&limit=1",
                "/v1/search/memories?q=tea&user_id=" + bob + "&limit=1", search + "&order=recent",
                search + "&character_id=" + sol, search + "&language=simple")) {
            var answer = api.get(other + "&cursor=" + cursor);
            assertThat(fieldOf(answer)).as(other).isEqualTo("cursor");
            assertThat(answer.json().get("detail").asText()).as(other).contains("continues another search");
        }
        assertThat(fieldOf(api.get(search + "&cursor=" + recent))).as("recent's cursor, by relevance").isEqualTo("cursor");
        for (String foreign : List.of(messages, "bm90LWEtY3Vyc29y", "!!!", "")) {
            assertThat(fieldOf(api.get(search + "&cursor=" + foreign))).as(foreign).isEqualTo("cursor");
        }
    }

    @Test
    void the_page_size_is_between_1_and_100() {
        for (int i = 0; i < 3; i++) {
            remember(alice, sol, "Collects stamps " + i, null);
        }
        String search = "/v1/search/memories?q=stamps&user_id=" + alice;

        for (String limit : List.of("0", "101", "-1", "ten")) {
            assertThat(fieldOf(api.get(search + "&limit=" + limit))).as(limit).isEqualTo("limit");
        }
        assertThat(fieldOf(api.get(search + "&order=newest"))).isEqualTo("order");
        JsonNode all = api.getOk(search + "&limit=100");
        assertThat(all.get("hits")).hasSize(3);
        assertThat(all.get("next_cursor").isNull()).as("no page after the last").isTrue();
        JsonNode exact = api.getOk(search + "&limit=3");
        assertThat(exact.get("next_cursor").isNull()).as("a page that ends with the hits has no cursor").isTrue();
        assertThat(api.getOk(search).get("hits")).as("default 20").hasSize(3);
    }

    private String remember(String user, String character, String content, String createdAt) {
        Map<String, Object> body = new HashMap<>(Map.of("character_id", character, "content", content));
        if (createdAt != null) {
            body.put("created_at", createdAt);
        }
        return api.postOk(201, "/v1/users/" + user + "/memories", body).get("id").asText();
    }

    /** Every page of the search, following next_cursor until it is null. */
    private List<List<Hit>> pages(String query) {
        List<List<Hit>> pages = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = api.getOk("/v1/search/memories?" + query + (cursor == null ? "" : "&cursor=" + cursor));
            pages.add(hits(page));
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
            assertThat(pages).as("pages of " + query).hasSizeLessThan(50);
        } while (cursor != null);
        return pages;
    }

    private List<Hit> onePage(String query) {
        JsonNode page = api.getOk("/v1/search/memories?" + query);
        assertThat(page.get("next_cursor").isNull()).isTrue();
        return hits(page);
    }

    private static List<Hit> hits(JsonNode page) {
        List<Hit> hits = new ArrayList<>();
        page.get("hits").forEach(hit -> hits.add(new Hit(hit.get("memory").get("id").asLong(), hit.get("rank").asDouble(),
                Instant.parse(hit.get("memory").get("created_at").asText()))));
        return hits;
    }

    /** How many page boundaries fall between two hits of equal rank. */
    private static int tiesCut(List<List<Hit>> pages) {
        int cut = 0;
        for (int i = 1; i < pages.size(); i++) {
            if (!pages.get(i).isEmpty() && pages.get(i - 1).getLast().rank() == pages.get(i).getFirst().rank()) {
                cut++;
            }
        }
        return cut;
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }
}
