package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void metrics_name_each_statement_and_each_route_template_never_a_raw_path() {
        Api api = TestServer.newApp();
        String conversation = Fixtures.conversation(api).get("id").asText();
        Fixtures.say(api, conversation, "user", "hello");
        api.getOk("/v1/conversations/" + conversation + "/messages");

        String metrics = api.withKey(null).get("/metrics").text();

        assertThat(metrics)
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"message.history_recent\"")
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"append.insert_messages\"")
                .containsPattern("parley_http_request_seconds_count\\{[^}]*route=\"/v1/conversations/\\{conversation_id}/messages\"")
                .contains("parley_append_batch_size_count")
                .doesNotContain("route=\"/v1/conversations/" + conversation);
    }
}
