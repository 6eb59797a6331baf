package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link TypingAndPresenceTest} without Redis: each instance keeps typing and presence in its own memory. */
class TypingAndPresenceInMemoryTest extends TypingAndPresenceTest {
    @Override
    String database() {
        return "parley_typing_presence";
    }

    @Override
    Map<String, String> env() {
        return Map.of();
    }

    @Test
    void each_instance_keeps_its_own() {
        api.put(typing(), Map.of("user_id", user));
        api.put("/v1/users/" + user + "/presence", Map.of("status", "online"));

        assertThat(viaSecond.getOk(typing()).get("typing")).isEmpty();
        assertThat(viaSecond.getOk("/v1/users/" + user + "/presence").get("status").asText()).isEqualTo("offline");
    }
}
