package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A user token acts as its own user and no one else: in a group Ada started with Luna, where Ben and Kai joined,
 * Ben's phone writes, reads, types and edits as Ben, in role user, as of now, and stores memories of Luna and Kai
 * only. Writing as Luna, Kai or Ada, or changing what they wrote, is a 403 that stores nothing; the app's key still
 * speaks for every member.
 */
class UserTokenActsAsItsUserTest {
    private final Api api = TestServer.newApp();
    private final String luna = Fixtures.character(api, "Luna");
    private final String kai = Fixtures.character(api, "Kai");
    private final String ada = Fixtures.user(api, "ada-" + System.nanoTime());
    private final String ben = Fixtures.user(api, "ben-" + System.nanoTime());
    private final String conversation = Fixtures.conversation(api, ada, luna);
    private final String path = "/v1/conversations/" + conversation;
    private final Api bensPhone = joinedWithAToken();

    @Test
    void an_append_is_written_as_the_tokens_user_in_role_user_and_naming_anyone_else_is_403() {
        List<Map<String, Object>> asSomeoneElse = List.of(
                Map.of("role", "assistant", "content", "Luna here"),
                Map.of("role", "system", "content", "new rules"),
                Map.of("role", "assistant", "character_id", kai, "content", "Kai here"),
                Map.of("user_id", ada, "content", "Ada here"),
                Map.of("role", "user", "user_id", ada, "content", "Ada again"));

        for (var body : asSomeoneElse) {
            assertRefused(bensPhone.post(path + "/messages", body), AsItsUser.WRITES);
        }
        JsonNode unnamed = bensPhone.postOk(201, path + "/messages", Map.of("content", "hi, Ben here"));
        JsonNode named = bensPhone.postOk(201, path + "/messages", Map.of("role", "user", "user_id", ben, "content", "me again"));

        assertThat(List.of(unnamed, named)).allSatisfy(message -> {
            assertThat(message.get("role").asText()).isEqualTo("user");
            assertThat(message.get("user_id").asText()).isEqualTo(ben);
        });
        assertThat(history()).extracting(m -> m.get("content").asText()).containsExactly("hi, Ben here", "me again");
    }

    @Test
    void a_batch_with_one_message_as_someone_else_is_403_and_stores_none_of_it() {
        var refused = bensPhone.post(path + "/messages/batch", Map.of("messages", List.of(
                Map.of("content", "mine"), Map.of("user_id", ada, "content", "Ada's"))));
        var asCharacter = bensPhone.post(path + "/messages/batch", Map.of("messages", List.of(
                Map.of("role", "assistant", "content", "Luna's"))));

        assertRefused(refused, AsItsUser.WRITES);
        assertThat(refused.json().get("detail").asText()).contains("messages[1].user_id");
        assertRefused(asCharacter, AsItsUser.WRITES);
        assertThat(history()).isEmpty();

        JsonNode stored = bensPhone.postOk(201, path + "/messages/batch", Map.of("messages", List.of(
                Map.of("content", "one"), Map.of("content", "two"))));
        assertThat(stored.get("messages")).extracting(m -> m.get("message").get("user_id").asText()).containsExactly(ben, ben);
    }

    @Test
    void a_token_writes_as_of_now_and_only_the_apps_key_gives_a_message_its_original_time() {
        String earlier = Fixtures.say(api, conversation, "assistant", "welcome").get("created_at").asText();

        assertRefused(bensPhone.post(path + "/messages", Map.of("content", "backdated", "created_at", earlier)),
                AsItsUser.AS_OF_NOW);
        var batch = bensPhone.post(path + "/messages/batch", Map.of("messages", List.of(
                Map.of("content", "now"), Map.of("content", "backdated", "created_at", earlier))));
        assertRefused(batch, AsItsUser.AS_OF_NOW);
        assertThat(batch.json().get("detail").asText()).contains("messages[1].created_at");
        assertThat(history()).extracting(m -> m.get("content").asText()).containsExactly("welcome");

        JsonNode imported = api.postOk(201, path + "/messages", Map.of("user_id", ben, "content", "imported", "created_at", earlier));
        assertThat(imported.get("created_at").asText()).isEqualTo(earlier);
    }

    @Test
    void a_token_moves_only_its_own_users_read_marker() {
        String last = Fixtures.say(api, conversation, "assistant", "welcome").get("id").asText();
        Map<String, Long> before = readSeqs();

        assertRefused(bensPhone.post(path + "/read", Map.of("message_id", last, "user_id", ada)), AsItsUser.MARKS);
        assertRefused(bensPhone.post(path + "/read", Map.of("message_id", last, "character_id", kai)), AsItsUser.MARKS);
        assertThat(readSeqs()).isEqualTo(before);

        JsonNode read = bensPhone.postOk(200, path + "/read", Map.of("message_id", last));
        Map<String, Long> after = readSeqs();

        assertThat(read.get("unread_count").asLong()).isZero();
        assertThat(after.get("user:" + ben)).isEqualTo(1L);
        after.remove("user:" + ben);
        before.remove("user:" + ben);
        assertThat(after).as("every other member's marker").isEqualTo(before);
    }

    @Test
    void a_token_types_only_as_its_own_user() {
        assertRefused(bensPhone.put(path + "/typing", Map.of("user_id", ada)), AsItsUser.MARKS);
        assertRefused(bensPhone.put(path + "/typing", Map.of("character_id", kai)), AsItsUser.MARKS);
        assertThat(api.getOk(path + "/typing").get("typing")).isEmpty();

        var typing = bensPhone.put(path + "/typing", Map.of());

        assertThat(typing.status()).as(typing.toString()).isEqualTo(200);
        assertThat(api.getOk(path + "/typing").get("typing")).extracting(t -> t.get("user_id").asText()).containsExactly(ben);
    }

    @Test
    void a_token_edits_and_deletes_only_messages_its_user_wrote() {
        String adas = Fixtures.say(api, conversation, "user", "from Ada").get("id").asText();
        String lunas = Fixtures.say(api, conversation, "assistant", "from Luna").get("id").asText();
        String bens = bensPhone.postOk(201, path + "/messages", Map.of("content", "from Ben")).get("id").asText();

        for (String other : List.of(adas, lunas)) {
            assertRefused(bensPhone.patch(path + "/messages/" + other, Map.of("content", "rewritten")), AsItsUser.CHANGES);
            assertRefused(bensPhone.delete(path + "/messages/" + other), AsItsUser.CHANGES);
            assertRefused(bensPhone.delete(path + "/messages/" + other + "?hard=true"), AsItsUser.CHANGES);
        }
        assertThat(bensPhone.patch(path + "/messages/999999999", Map.of("content", "x")).status()).isEqualTo(404);

        assertThat(history()).extracting(m -> m.get("content").asText()).containsExactly("from Ada", "from Luna", "from Ben");
        assertThat(history()).allSatisfy(m -> {
            assertThat(m.get("edited_at").isNull()).isTrue();
            assertThat(m.get("deleted_at").isNull()).isTrue();
        });
        var edited = bensPhone.patch(path + "/messages/" + bens, Map.of("content", "from Ben, edited"));
        var deleted = bensPhone.delete(path + "/messages/" + bens);
        assertThat(edited.status()).as(edited.toString()).isEqualTo(200);
        assertThat(deleted.status()).as(deleted.toString()).isEqualTo(200);
        assertThat(deleted.json().get("deleted_at").isNull()).isFalse();
    }

    @Test
    void a_token_stores_memories_only_of_the_characters_its_user_talks_with() {
        String nova = Fixtures.character(api, "Nova"); // in none of Ben's conversations
        String memories = "/v1/users/" + ben + "/memories";

        assertRefused(bensPhone.post(memories, Map.of("character_id", nova, "content", "likes tea")), AsItsUser.REMEMBERS);
        var batch = bensPhone.post(memories + "/batch", Map.of("memories", List.of(
                Map.of("character_id", luna, "content", "likes snow"), Map.of("character_id", nova, "content", "likes tea"))));
        assertRefused(batch, AsItsUser.REMEMBERS);
        assertThat(batch.json().get("detail").asText()).contains("memories[1].character_id");
        assertThat(api.getOk(memories + "?character_id=" + luna).get("memories")).isEmpty();

        bensPhone.postOk(201, memories, Map.of("character_id", luna, "content", "likes snow"));
        bensPhone.postOk(201, memories + "/batch", Map.of("memories", List.of(Map.of("character_id", kai, "content", "plays chess"))));
        api.postOk(201, memories, Map.of("character_id", nova, "content", "likes tea, says the backend"));
        assertThat(api.getOk(memories + "?character_id=" + nova).get("memories")).hasSize(1);
    }

    @Test
    void a_token_stores_memories_as_of_now_and_only_the_apps_key_gives_a_memory_its_original_time() {
        String memories = "/v1/users/" + ben + "/memories";
        String earlier = "2024-05-01T12:00:00Z";

        assertRefused(bensPhone.post(memories, Map.of("character_id", luna, "content", "likes snow", "created_at", earlier)),
                AsItsUser.AS_OF_NOW);
        var batch = bensPhone.post(memories + "/batch", Map.of("memories", List.of(
                Map.of("character_id", luna, "content", "plays chess"),
                Map.of("character_id", luna, "content", "likes snow", "created_at", earlier))));
        assertRefused(batch, AsItsUser.AS_OF_NOW);
        assertThat(batch.json().get("detail").asText()).contains("memories[1].created_at");
        assertThat(api.getOk(memories + "?character_id=" + luna).get("memories")).isEmpty();

        JsonNode imported = api.postOk(201, memories, Map.of("character_id", luna, "content", "likes snow", "created_at", earlier));
        assertThat(imported.get("created_at").asText()).isEqualTo(earlier);
    }

    @Test
    void the_apps_key_still_speaks_for_every_member() {
        String bens = bensPhone.postOk(201, path + "/messages", Map.of("content", "from Ben")).get("id").asText();

        JsonNode asKai = api.postOk(201, path + "/messages", Map.of("role", "assistant", "character_id", kai, "content", "Kai here"));
        JsonNode asBen = api.postOk(201, path + "/messages", Map.of("user_id", ben, "content", "Ben, via the backend"));
        JsonNode adaRead = api.postOk(200, path + "/read", Map.of("message_id", asBen.get("id").asText()));
        var kaiTypes = api.put(path + "/typing", Map.of("character_id", kai));
        var edited = api.patch(path + "/messages/" + bens, Map.of("content", "moderated"));

        assertThat(asKai.get("character_id").asText()).isEqualTo(kai);
        assertThat(asBen.get("user_id").asText()).isEqualTo(ben);
        assertThat(adaRead.get("unread_count").asLong()).isZero();
        assertThat(readSeqs().get("user:" + ada)).isEqualTo(asBen.get("seq").asLong());
        assertThat(kaiTypes.status()).as(kaiTypes.toString()).isEqualTo(200);
        assertThat(edited.status()).as(edited.toString()).isEqualTo(200);
    }

    /** Ben joins Ada's group with Kai, and gets a read and write token for his phone. */
    private Api joinedWithAToken() {
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        api.postOk(201, path + "/members", Map.of("character_id", kai));
        return api.withKey(api.postOk(201, "/v1/users/" + ben + "/tokens", Map.of()).get("token").asText());
    }

    private static void assertRefused(Api.Response response, String rule) {
        assertThat(response.status()).as(response.toString()).isEqualTo(403);
        assertThat(response.isProblem()).as(response.toString()).isTrue();
        assertThat(response.json().get("detail").asText()).startsWith(rule);
    }

    /** The conversation's messages, oldest first, as the app's key reads them. */
    private List<JsonNode> history() {
        List<JsonNode> messages = new java.util.ArrayList<>();
        api.getOk(path + "/messages").get("messages").forEach(messages::add);
        return messages;
    }

    /** Each member's read position, as "user:<id>" or "character:<id>". */
    private Map<String, Long> readSeqs() {
        Map<String, Long> seqs = new HashMap<>();
        api.getOk(path + "/members").get("members").forEach(m ->
                seqs.put(m.get("kind").asText() + ":" + m.get("id").asText(), m.get("read_seq").asLong()));
        return seqs;
    }
}
