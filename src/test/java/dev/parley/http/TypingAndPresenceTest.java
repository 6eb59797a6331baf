package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestClock;
import dev.parley.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Typing and presence over HTTP, on two instances: who types and who is online, for as long as their
 * lifetimes say, with time moved by a test clock instead of waited for; inputs checked. Run kept in
 * memory ({@link TypingAndPresenceInMemoryTest}) and in Redis ({@link TypingAndPresenceWithRedisTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TypingAndPresenceTest {
    final TestClock clock = new TestClock();
    Parley first;
    Parley second;
    Api api;
    Api viaSecond;
    String user;
    String character;
    String conversation;

    /** The instances' database, of this class alone. */
    abstract String database();

    /** Settings both instances start with. */
    abstract Map<String, String> env();

    @BeforeAll
    void start() {
        first = TestServer.start(database(), env(), clock);
        second = TestServer.alongside(database(), env(), clock);
        String key = first.apps().create("live").apiKey();
        api = new Api("http://127.0.0.1:" + first.port(), key);
        viaSecond = new Api("http://127.0.0.1:" + second.port(), key);
    }

    @AfterAll
    void stop() {
        second.close();
        first.close();
    }

    @BeforeEach
    void conversation() {
        character = Fixtures.character(api, "Luna");
        user = Fixtures.user(api, "typist-" + System.nanoTime());
        conversation = Fixtures.conversation(api, user, character);
    }

    String typing() {
        return "/v1/conversations/" + conversation + "/typing";
    }

    @Test
    void a_participant_types_for_the_typing_lifetime_then_no_longer() {
        Instant before = clock.instant();
        JsonNode answer = ok(api.put(typing(), Map.of("user_id", user)));

        assertThat(answer.get("typing")).hasSize(1);
        assertThat(answer.get("typing").get(0).get("user_id").asText()).isEqualTo(user);
        assertThat(answer.get("typing").get(0).get("character_id").isNull()).isTrue();
        Instant until = Instant.parse(answer.get("typing").get(0).get("expires_at").asText());
        assertThat(Duration.between(before, until)).isBetween(Duration.ofSeconds(9), Duration.ofSeconds(11));

        clock.advance(Duration.ofSeconds(9));
        assertThat(api.getOk(typing()).get("typing")).as("9 s on").hasSize(1);
        clock.advance(Duration.ofSeconds(2));
        assertThat(api.getOk(typing()).get("typing")).as("11 s on: past the 10 s lifetime").isEmpty();
    }

    @Test
    void the_user_and_a_character_type_at_once_and_one_stops() {
        api.put(typing(), Map.of("user_id", user));
        clock.advance(Duration.ofSeconds(1));
        JsonNode both = ok(api.put(typing(), Map.of("character_id", character)));
        JsonNode after = ok(api.put(typing(), Map.of("user_id", user, "typing", false)));

        assertThat(both.get("typing").findValuesAsText("user_id")).containsExactly(user, "null");
        assertThat(both.get("typing").get(1).get("character_id").asText()).isEqualTo(character);
        assertThat(after.get("typing")).hasSize(1);
        assertThat(after.get("typing").get(0).get("character_id").asText()).isEqualTo(character);
    }

    @Test
    void a_guest_of_a_group_chat_types_too() {
        String guest = Fixtures.user(api, "guest-" + System.nanoTime());
        assertInvalid(api.put(typing(), Map.of("user_id", guest)), "user_id", "not in conversation");
        Fixtures.join(api, conversation, guest);

        JsonNode typing = ok(api.put(typing(), Map.of("user_id", guest)));
        assertThat(typing.get("typing").findValuesAsText("user_id")).containsExactly(guest);
    }

    @Test
    void a_guest_removed_from_the_group_or_erased_types_no_more() {
        String leaving = Fixtures.user(api, "leaving-" + System.nanoTime());
        String erased = Fixtures.user(api, "erased-" + System.nanoTime());
        for (String guest : new String[] {leaving, erased}) {
            Fixtures.join(api, conversation, guest);
            ok(api.put(typing(), Map.of("user_id", guest)));
        }
        assertThat(api.getOk(typing()).get("typing").findValuesAsText("user_id")).containsExactlyInAnyOrder(leaving, erased);

        assertThat(api.delete("/v1/conversations/" + conversation + "/members/users/" + leaving).status()).isEqualTo(204);
        assertThat(api.delete("/v1/users/" + erased).status()).isEqualTo(200);

        assertThat(api.getOk(typing()).get("typing")).as("within the typing lifetime").isEmpty();
    }

    @Test
    void only_the_conversations_user_or_characters_may_type() {
        String stranger = Fixtures.user(api, "stranger-" + System.nanoTime());
        String otherCharacter = Fixtures.character(api, "Sol");

        assertInvalid(api.put(typing(), Map.of("user_id", stranger)), "user_id", "not in conversation");
        assertInvalid(api.put(typing(), Map.of("character_id", otherCharacter)), "character_id", "not a member");
        assertInvalid(api.put(typing(), Map.of("user_id", user, "character_id", character)), "user_id", "one of the two");
        assertInvalid(api.put(typing(), Map.of("typing", true)), "user_id", "one of the two");
        assertInvalid(api.put(typing(), Map.of("user_id", user, "typing", "yes")), "typing", "true or false");
        var unknown = api.put("/v1/conversations/987654321012/typing", Map.of("user_id", user));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.isProblem()).isTrue();
        assertThat(api.get("/v1/conversations/987654321012/typing").status()).isEqualTo(404);
        assertThat(api.getOk(typing()).get("typing")).isEmpty();
    }

    @Test
    void a_user_is_online_after_a_heartbeat_until_the_presence_lifetime_passes_and_last_seen_stays() {
        String presence = "/v1/users/" + user + "/presence";
        JsonNode never = api.getOk(presence);
        JsonNode online = ok(api.put(presence, Map.of("status", "online")));
        clock.advance(Duration.ofSeconds(59));
        JsonNode stillOnline = api.getOk(presence);
        clock.advance(Duration.ofSeconds(2));
        JsonNode gone = api.getOk(presence);

        assertThat(never.get("status").asText()).isEqualTo("offline");
        assertThat(never.get("last_seen_at").isNull()).isTrue();
        assertThat(online.get("user_id").asText()).isEqualTo(user);
        assertThat(online.get("status").asText()).isEqualTo("online");
        assertThat(stillOnline.get("status").asText()).isEqualTo("online");
        assertThat(gone.get("status").asText()).as("61 s after the last heartbeat").isEqualTo("offline");
        assertThat(gone.get("last_seen_at").asText()).isEqualTo(online.get("last_seen_at").asText());
    }

    @Test
    void a_user_who_leaves_is_offline_at_once_and_forgotten_after_a_week() {
        String presence = "/v1/users/" + user + "/presence";
        api.put(presence, Map.of("status", "online"));
        JsonNode left = ok(api.put(presence, Map.of("status", "offline")));
        clock.advance(Duration.ofDays(8));
        JsonNode later = api.getOk(presence);

        assertThat(left.get("status").asText()).isEqualTo("offline");
        assertThat(left.get("last_seen_at").isNull()).isFalse();
        assertThat(later.get("last_seen_at").isNull()).isTrue();
        assertInvalid(api.put(presence, Map.of("status", "away")), "status", "'away'");
        assertInvalid(api.put(presence, Map.of()), "status", "must be");
        assertThat(api.get("/v1/users/987654321012/presence").status()).isEqualTo(404);
    }

    static JsonNode ok(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.json();
    }

    private static void assertInvalid(Api.Response response, String field, String detail) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).as(response.toString()).isEqualTo(field);
        assertThat(response.json().get("detail").asText()).contains(detail);
    }
}
