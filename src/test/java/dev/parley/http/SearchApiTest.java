package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.search.MessageSearch;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SearchApiTest {
    private final Api api = TestServer.newApp();
    private final String character = Fixtures.character(api, "Sol");
    private final String alice = Fixtures.user(api, "alice-" + System.nanoTime());
    private final String bob = Fixtures.user(api, "bob-" + System.nanoTime());

    @Test
    void a_users_search_finds_stemmed_words_in_all_their_conversations_and_nobody_elses() {
        String morning = Fixtures.conversation(api, alice, character);
        String evening = Fixtures.conversation(api, alice, character);
        String bobs = Fixtures.conversation(api, bob, character);
        String ran = Fixtures.say(api, morning, "user", "I went running by the river today").get("id").asText();
        String runs = Fixtures.say(api, evening, "assistant", "She runs every evening, she says").get("id").asText();
        Fixtures.say(api, evening, "user", "Nothing about that here");
        Fixtures.say(api, bobs, "user", "Bob is running too");

        JsonNode hits = search("q=run&user_id=" + alice);

        assertThat(ids(hits)).containsExactlyInAnyOrder(ran, runs);
        assertThat(hits.get("hits").get(0).get("snippet").asText()).contains("<mark>");
        assertThat(ids(search("q=run&conversation_id=" + morning))).containsExactly(ran);
        assertThat(ids(search("q=run"))).hasSize(3); // the whole app
        assertThat(ids(search("q=the&user_id=" + alice))).as("stop words alone match nothing").isEmpty();
    }

    @Test
    void a_users_search_takes_in_the_groups_they_joined_as_a_guest_while_they_are_in_them() {
        String bobsOwn = Fixtures.conversation(api, bob, character);
        String alicesGroup = Fixtures.conversation(api, alice, character);
        String alicesOther = Fixtures.conversation(api, alice, character);
        Fixtures.join(api, alicesGroup, bob);
        String own = Fixtures.say(api, bobsOwn, "user", "a comet tonight").get("id").asText();
        String hers = Fixtures.say(api, alicesGroup, "user", "did you see the comet").get("id").asText();
        String his = api.postOk(201, "/v1/conversations/" + alicesGroup + "/messages",
                Map.of("role", "user", "user_id", bob, "content", "the comet was bright")).get("id").asText();
        Fixtures.say(api, alicesOther, "user", "a comet only Alice and Sol talk about");

        assertThat(ids(search("q=comet&user_id=" + bob))).containsExactlyInAnyOrder(his, hers, own);
        assertThat(ids(search("q=comet&user_id=" + bob + "&order=recent"))).containsExactly(his, hers, own);
        assertThat(ids(search("q=comet&user_id=" + bob + "&include_archived=true"))).as("the archive's statement too")
                .containsExactlyInAnyOrder(his, hers, own);
        assertThat(ids(search("q=comet&user_id=" + alice))).hasSize(3).contains(his, hers);

        assertThat(api.delete("/v1/conversations/" + alicesGroup + "/members/users/" + bob).status()).isEqualTo(204);
        assertThat(ids(search("q=comet&user_id=" + bob))).as("left the group").containsExactly(own);
    }

    @Test
    void a_users_search_reads_the_groups_they_were_most_recently_active_in_up_to_the_bound() {
        List<String> groups = new ArrayList<>();
        for (int i = 0; i <= MessageSearch.GUEST_GROUPS; i++) { // the first is the least recently active
            String group = Fixtures.conversation(api, alice, character);
            Fixtures.join(api, group, bob);
            Fixtures.say(api, group, "user", "aurora over group " + i);
            groups.add(group);
        }

        JsonNode hits = search("q=aurora&order=recent&limit=100&user_id=" + bob);

        List<String> searched = new ArrayList<>();
        hits.get("hits").forEach(hit -> searched.add(hit.get("conversation_id").asText()));
        assertThat(searched).hasSize(MessageSearch.GUEST_GROUPS).doesNotContain(groups.getFirst());
        assertThat(ids(search("q=aurora&conversation_id=" + groups.getFirst()))).as("by its conversation_id").hasSize(1);
    }

    /** Words are indexed in the append's own transaction: the bound on search freshness is the 201 itself. */
    @Test
    void a_message_is_found_by_search_as_soon_as_its_append_is_answered() {
        String conversation = Fixtures.conversation(api, alice, character);
        for (int i = 0; i < 20; i++) {
            String word = "quillon" + (char) ('a' + i) + "zest";
            String id = Fixtures.say(api, conversation, i % 2 == 0 ? "user" : "assistant", "a note about " + word).get("id").asText();

            assertThat(ids(search("q=" + word + "&user_id=" + alice))).as("searched right after the 201").containsExactly(id);
        }
    }

    @Test
    void relevance_puts_the_message_dense_with_the_words_first_and_pages_with_a_cursor() {
        String conversation = Fixtures.conversation(api, alice, character);
        String passing = Fixtures.say(api, conversation, "user", "the garden was nice, and later the weather turned").get("id").asText();
        String dense = Fixtures.say(api, conversation, "user", "garden garden: my garden is my favourite garden").get("id").asText();
        String third = Fixtures.say(api, conversation, "user", "a garden").get("id").asText();

        JsonNode first = search("q=garden&user_id=" + alice + "&limit=2");
        JsonNode second = search("q=garden&user_id=" + alice + "&limit=2&cursor=" + first.get("next_cursor").asText());

        assertThat(ids(first).getFirst()).isEqualTo(dense);
        List<String> all = new ArrayList<>(ids(first));
        all.addAll(ids(second));
        assertThat(all).containsExactlyInAnyOrder(passing, dense, third);
        assertThat(second.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void recent_order_lists_newest_first_and_deleted_messages_are_never_found() {
        String conversation = Fixtures.conversation(api, alice, character);
        String older = Fixtures.say(api, conversation, "user", "pizza on friday").get("id").asText();
        String gone = Fixtures.say(api, conversation, "user", "pizza again?").get("id").asText();
        String newer = Fixtures.say(api, conversation, "assistant", "pizza is fine").get("id").asText();
        api.delete("/v1/conversations/" + conversation + "/messages/" + gone);

        JsonNode page = search("q=pizza&conversation_id=" + conversation + "&order=recent&limit=1");
        JsonNode next = search("q=pizza&conversation_id=" + conversation + "&order=recent&limit=1&cursor="
                + page.get("next_cursor").asText());

        assertThat(ids(page)).containsExactly(newer);
        assertThat(ids(next)).containsExactly(older);
    }

    @Test
    void a_conversation_is_searched_in_its_own_language() {
        String french = api.postOk(201, "/v1/conversations", Map.of("user_id", alice, "character_id", character,
                "language", "french")).get("id").asText();
        String said = Fixtures.say(api, french, "user", "Elle chantait au jardin").get("id").asText();

        assertThat(api.getOk("/v1/conversations/" + french).get("language").asText()).isEqualTo("french");
        assertThat(ids(search("q=" + "chanteront" + "&conversation_id=" + french))).containsExactly(said);
        assertThat(ids(search("q=" + "chanteront" + "&user_id=" + alice))).isEmpty(); // parsed as english
        assertThat(ids(search("q=" + "chanteront" + "&user_id=" + alice + "&language=french"))).containsExactly(said);
    }

    @Test
    void a_snippet_postgresql_makes_comes_after_the_commit_that_ended_the_search() {
        // German's lexemes are looked up in PostgreSQL (Snippets.LookedUp): a statement of its own, after the search's COMMIT.
        String german = api.postOk(201, "/v1/conversations", Map.of("user_id", alice, "character_id", character,
                "language", "german")).get("id").asText();
        String said = Fixtures.say(api, german, "user", "Die Sterne leuchten heute hell").get("id").asText();

        for (String scope : List.of("conversation_id=" + german, "language=german&user_id=" + alice,
                "language=german&include_archived=true&user_id=" + alice)) {
            JsonNode hits = search("q=Stern&" + scope);
            assertThat(ids(hits)).as(scope).containsExactly(said);
            assertThat(hits.get("hits").get(0).get("snippet").asText()).as(scope).contains("<mark>Sterne</mark>");
        }
    }

    @Test
    void a_german_snippet_is_the_message_verbatim_as_an_english_one_is() {
        String german = api.postOk(201, "/v1/conversations", Map.of("user_id", alice, "character_id", character,
                "language", "german")).get("id").asText();
        String english = Fixtures.conversation(api, alice, character);
        String run = "anfang600 " + "🌟".repeat(600) + " ende";
        for (String conversation : List.of(german, english)) {
            Fixtures.say(api, conversation, "user", "mitte <b>x</b> ende");
            Fixtures.say(api, conversation, "user", run);

            List<String> snippets = new ArrayList<>();
            search("q=ende&order=recent&conversation_id=" + conversation).get("hits").forEach(hit -> snippets.add(hit.get("snippet").asText()));

            assertThat(snippets).as(conversation == german ? "german" : "english")
                    .containsExactly("…" + "🌟".repeat(125) + " <mark>ende</mark>", "mitte <b>x</b> <mark>ende</mark>");
        }
    }

    @Test
    void memories_are_found_by_their_words() {
        String path = "/v1/users/" + alice + "/memories";
        String dog = api.postOk(201, path, Map.of("character_id", character, "content", "Adopted a dog called Rex")).get("id").asText();
        api.postOk(201, path, Map.of("character_id", character, "content", "Prefers tea to coffee"));

        JsonNode hits = search("memories", "q=dogs&user_id=" + alice);

        assertThat(hits.get("hits")).extracting(h -> h.get("memory").get("id").asText()).containsExactly(dog);
        assertThat(hits.get("hits").get(0).get("snippet").asText()).contains("<mark>dog</mark>");
    }

    @Test
    void bad_search_input_is_named() {
        assertThat(fieldOf(api.get("/v1/search/messages?user_id=" + alice))).isEqualTo("q");
        assertThat(fieldOf(api.get("/v1/search/messages?q=x&order=random"))).isEqualTo("order");
        assertThat(fieldOf(api.get("/v1/search/messages?q=x&language=klingon"))).isEqualTo("language");
        assertThat(fieldOf(api.get("/v1/search/messages?q=x&cursor=bm90LWEtY3Vyc29y"))).isEqualTo("cursor");
        assertThat(fieldOf(api.get("/v1/search/memories?q=x"))).isEqualTo("user_id");
        assertThat(fieldOf(api.post("/v1/conversations", Map.of("user_id", alice, "character_id", character,
                "language", "english'; --")))).isEqualTo("language");
        assertThat(api.get("/v1/search/messages?q=" + encode("'\"():&|!<->*") + "&user_id=" + alice).status()).isEqualTo(200);
    }

    private JsonNode search(String query) {
        return search("messages", query);
    }

    private JsonNode search(String what, String query) {
        return api.getOk("/v1/search/" + what + "?" + query);
    }

    private static List<String> ids(JsonNode hits) {
        List<String> ids = new ArrayList<>();
        hits.get("hits").forEach(h -> ids.add(h.get("message_id").asText()));
        return ids;
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
