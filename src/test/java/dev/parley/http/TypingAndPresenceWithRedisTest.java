package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestRedis;
import dev.parley.support.TestServer;
import java.util.List;
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

    /**
     * What another program or another release left under the prefix: fields and times Parley never writes are skipped
     * (they answered 500, and a typist's renewals kept the key alive), a key of another type is read as none and
     * replaced by the next write (its WRONGTYPE opened the circuit, on every use, as if Redis were down).
     */
    @Test
    void fields_and_keys_parley_never_writes_are_skipped_and_the_next_write_mends_them() {
        api.put(typing(), Map.of("user_id", user));
        api.put("/v1/users/" + user + "/presence", Map.of("status", "online"));
        var redis = TestRedis.get().commands();
        String typingKey = key("typing:", conversation);
        String presenceKey = key("presence:", user);
        redis.hset(typingKey, Map.of("user:abc", "1", "character:", "1", "bogus", "1", "user:1:extra", "1",
                "user:77", "garbage", "character:" + character, "99999999999999999999999"));
        redis.hset(presenceKey, "online_until", "garbage");

        assertThat(viaSecond.getOk(typing()).get("typing").findValuesAsText("user_id")).as("the typist, the rest skipped")
                .containsExactly(user);
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("offline");
        assertThat(api.put("/v1/users/" + user + "/presence", Map.of("status", "online")).status()).isEqualTo(200);
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("online");

        redis.del(typingKey, presenceKey);
        redis.set(typingKey, "not a hash");
        redis.rpush(presenceKey, "nor this");
        assertThat(viaSecond.getOk(typing()).get("typing")).as("read as none").isEmpty();
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("offline");
        api.put(typing(), Map.of("user_id", user));
        api.put("/v1/users/" + user + "/presence", Map.of("status", "online"));

        assertThat(viaSecond.getOk(typing()).get("typing").findValuesAsText("user_id")).as("shared again").containsExactly(user);
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("online");
        for (var instance : List.of(api, viaSecond)) {
            assertThat(TestServer.metric(instance, "parley_cache_redis_up")).as("Redis was not taken for down").isEqualTo(1.0);
        }
    }

    private String key(String kind, String id) {
        return TestRedis.get().keys(prefix).stream().filter(k -> k.contains(kind) && k.endsWith(":" + id)).findFirst().orElseThrow();
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
