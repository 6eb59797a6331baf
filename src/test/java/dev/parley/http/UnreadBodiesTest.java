package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A body the route answered without reading, or read only in part, does not cost the client its
 * connection or its answer: the connection that carried it answers the next request.
 */
class UnreadBodiesTest {
    private static final int LIMIT = 8 << 20; // PARLEY_MAX_BODY's default, which the test server keeps

    private final Api api = TestServer.newApp();

    @Test
    void a_body_sent_after_the_answer_was_ready_leaves_the_connection_usable() throws Exception {
        try (var connection = new RawHttp(TestServer.get().port())) {
            connection.write(head("GET", "/v1/characters", "Content-Length: 2"));
            Thread.sleep(200); // the route has answered by now, before the body arrives
            connection.write("{}".getBytes(StandardCharsets.UTF_8));
            assertThat(connection.response().status()).as("a GET takes no body").isEqualTo(400);

            connection.write(head("GET", "/v1/characters", "Content-Length: 0"));
            assertThat(connection.response().status()).as("the next request on the same connection").isEqualTo(200);
        }
    }

    @Test
    void a_body_over_the_limit_is_answered_413_on_a_connection_that_stays_open() throws Exception {
        byte[] huge = new byte[LIMIT + (1 << 20)];
        Arrays.fill(huge, (byte) 'a');
        try (var connection = new RawHttp(TestServer.get().port())) {
            for (String framing : new String[] {"Content-Length: " + huge.length, "Transfer-Encoding: chunked"}) {
                connection.write(head("POST", "/v1/characters", framing));
                connection.write(framing.startsWith("Transfer") ? chunked(huge) : huge);
                RawHttp.Response refused = connection.response();
                assertThat(refused.status()).as(framing).isEqualTo(413);
                assertThat(refused.headers()).as(framing).doesNotContainKey("connection");

                connection.write(head("GET", "/v1/characters", "Content-Length: 0"));
                assertThat(connection.response().status()).as("after " + framing).isEqualTo(200);
            }
        }
    }

    @Test
    void a_client_that_waits_for_100_continue_is_refused_before_it_sends_the_body() throws Exception {
        try (var connection = new RawHttp(TestServer.get().port())) {
            connection.write(head("POST", "/v1/characters", "Content-Length: " + (LIMIT + 1) + "\r\nExpect: 100-continue"));
            RawHttp.Response answer = connection.response();
            assertThat(answer.status()).as("the first answer, not 100 Continue").isEqualTo(413);
            assertThat(answer.headers().get("content-type")).startsWith("application/problem+json");
        }
    }

    private byte[] head(String method, String path, String framing) {
        return (method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                + "\r\nContent-Type: application/json\r\n" + framing + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] chunked(byte[] body) {
        byte[] size = (Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] end = "\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(size, size.length + body.length + end.length);
        System.arraycopy(body, 0, all, size.length, body.length);
        System.arraycopy(end, 0, all, size.length + body.length, end.length);
        return all;
    }
}
