package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestRedis;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** {@link TypingAndPresenceTest} with a Redis: the instances share typing and presence, and Redis drops them once their time is up. */
class TypingAndPresenceWithRedisTest extends TypingAndPresenceTest {
    private final String prefix = TestRedis.newPrefix();

    @Override
    String database() {
        return "parley_typing_presence_redis";
    }

    @Override
    Map<String, String> env() {
        return TestRedis.get().env(prefix);
    }

    @AfterAll
    void forget() {
        TestRedis.get().forget(prefix);
    }

    @Test
    void typing_and_presence_said_to_one_instance_are_seen_through_the_other() {
        api.put(typing(), Map.of("user_id", user));
        api.put("/v1/users/" + user + "/presence", Map.of("status", "online"));

        assertThat(viaSecond.getOk(typing()).get("typing").findValuesAsText("user_id")).containsExactly(user);
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("online");
    }

    @Test
    void redis_holds_them_with_a_time_to_live_and_no_longer() {
        api.put(typing(), Map.of("user_id", user));
        api.put("/v1/users/" + user + "/presence", Map.of("status", "online"));

        var redis = TestRedis.get().commands();
        long typingTtl = redis.pttl(TestRedis.get().keys(prefix).stream().filter(k -> k.contains("typing:")
                && k.endsWith(":" + conversation)).findFirst().orElseThrow());
        long presenceTtl = redis.pttl(TestRedis.get().keys(prefix).stream().filter(k -> k.contains("presence:")
                && k.endsWith(":" + user)).findFirst().orElseThrow());

        assertThat(typingTtl).as("ms left of a typing mark").isBetween(1L, 10_000L);
        assertThat(presenceTtl).as("ms left of a last-seen").isBetween(1L, 7 * 24 * 3600 * 1000L);
    }
}
