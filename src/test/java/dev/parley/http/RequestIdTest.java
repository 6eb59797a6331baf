package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** X-Request-Id: taken from the client when usable, made otherwise, sent back, and named by every problem. */
class RequestIdTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_request_without_one_gets_one_made_and_sent_back() {
        var first = api.get("/health");
        var second = api.get("/health");

        assertThat(first.header("X-Request-Id")).matches("[0-9a-f]{32}");
        assertThat(second.header("X-Request-Id")).matches("[0-9a-f]{32}").isNotEqualTo(first.header("X-Request-Id"));
    }

    @Test
    void the_clients_own_is_sent_back_and_one_unsafe_to_repeat_is_replaced() {
        var own = api.sendBytes("GET", "/v1/characters", null, "X-Request-Id", "checkout-7f3a:retry.2");
        var unsafe = api.sendBytes("GET", "/v1/characters", null, "X-Request-Id", "<script>");
        var tooLong = api.sendBytes("GET", "/v1/characters", null, "X-Request-Id", "a".repeat(129));

        assertThat(own.header("X-Request-Id")).isEqualTo("checkout-7f3a:retry.2");
        assertThat(unsafe.header("X-Request-Id")).matches("[0-9a-f]{32}");
        assertThat(tooLong.header("X-Request-Id")).matches("[0-9a-f]{32}");
    }

    @Test
    void every_problem_names_the_request_it_answers() {
        var invalid = api.sendBytes("POST", "/v1/characters", "{\"name\": 5}".getBytes(), "Content-Type", "application/json",
                "X-Request-Id", "bad-input-1");
        var unknown = api.get("/v1/conversations/123456789");
        var noRoute = api.get("/v1/nowhere");
        var noKey = api.withKey(null).post("/v1/characters", Map.of("name", "Luna"));

        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.json().get("request_id").asText()).isEqualTo("bad-input-1");
        for (Api.Response problem : new Api.Response[] {unknown, noRoute, noKey}) {
            assertThat(problem.isProblem()).isTrue();
            assertThat(problem.json().get("request_id").asText()).as(problem.toString()).isEqualTo(problem.header("X-Request-Id"));
        }
    }
}
