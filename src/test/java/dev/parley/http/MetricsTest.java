package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void metrics_name_each_statement_and_each_route_template_never_a_raw_path() {
        Api api = TestServer.newApp();
        String conversation = Fixtures.conversation(api).get("id").asText();
        Fixtures.say(api, conversation, "user", "hello");
        api.getOk("/v1/conversations/" + conversation + "/messages");
        api.get("/v1/conversations/" + conversation + "/nowhere");

        String metrics = TestServer.metrics(api);

        assertThat(metrics)
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"message.history_recent\"")
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"append.write\"")
                .containsPattern("parley_http_request_seconds_count\\{[^}]*route=\"/v1/conversations/\\{conversation_id}/messages\"")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"/v1/conversations/\\{conversation_id}/messages\",status=\"200\"} [1-9]")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"unmatched\",status=\"404\"} [1-9]")
                .contains("parley_append_batch_size_count")
                .doesNotContain("route=\"/v1/conversations/" + conversation);
    }

    @Test
    void recall_reports_hits_and_misses_of_its_vector_cache() {
        Api api = TestServer.newApp();
        JsonNode conversation = Fixtures.conversation(api);
        String user = conversation.get("user_id").asText();
        String character = conversation.get("character_id").asText();
        api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", "likes rain",
                "embedding", List.of(1.0, 0.0)));
        for (int i = 0; i < 2; i++) { // the first loads the scope's vectors, the second finds them held
            api.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id", character,
                    "embedding", List.of(1.0, 0.0)));
        }

        String metrics = TestServer.metrics(api);

        assertThat(metrics)
                .containsPattern("cache_gets_total\\{[^}]*cache=\"recall_vectors\"[^}]*result=\"hit\"[^}]*} [1-9]")
                .containsPattern("cache_gets_total\\{[^}]*cache=\"recall_vectors\"[^}]*result=\"miss\"[^}]*} [1-9]");
    }
}
