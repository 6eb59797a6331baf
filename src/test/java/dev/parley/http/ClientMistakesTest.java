package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A client's mistake gets a 4xx problem document naming it, never a 500, and leaves no stack trace
 * in the log: paths and methods Parley does not serve, bodies that end early or lie about their
 * encoding, JSON that is ambiguous or typed loosely, a key whose app is gone.
 */
class ClientMistakesTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_get_with_a_body_and_a_compressed_body_are_refused_not_misread() throws Exception {
        byte[] filter = "{\"user_id\":\"999\"}".getBytes(StandardCharsets.UTF_8);
        var get = api.sendBytes("GET", "/v1/conversations?limit=2", filter, "Content-Type", "application/json");
        assertThat(get.status()).as("a filter in a GET's body would look heeded").isEqualTo(400);
        assertThat(get.json().get("detail").asText()).contains("takes no body");

        var zipped = new java.io.ByteArrayOutputStream();
        try (var gzip = new java.util.zip.GZIPOutputStream(zipped)) {
            gzip.write("{\"name\":\"Luna\"}".getBytes(StandardCharsets.UTF_8));
        }
        var gzipped = api.sendBytes("POST", "/v1/characters", zipped.toByteArray(), "Content-Type", "application/json",
                "Content-Encoding", "gzip");
        assertThat(gzipped.status()).isEqualTo(415);
        assertThat(gzipped.json().get("errors").get(0).get("field").asText()).isEqualTo("Content-Encoding");
        var labelled = api.sendBytes("POST", "/v1/characters", "{\"name\":\"Luna\"}".getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json", "Content-Encoding", "br");
        assertThat(labelled.status()).as("a plain body labelled br").isEqualTo(415);
        var imported = api.sendBytes("POST", "/v1/import", zipped.toByteArray(), "Content-Type", "application/x-ndjson",
                "Content-Encoding", "gzip");
        assertThat(imported.status()).isEqualTo(415);
    }

    @Test
    void paths_outside_the_api_answer_404_and_other_methods_405_with_allow() { // metrics and the dashboard live on the admin port
        for (String path : List.of("/", "/admin", "/v2/characters", "/health/deep", "/metrics", "/dashboard",
                "/admin/overview", "/v1/nothing-here")) {
            var response = api.get(path);
            assertThat(response.status()).as(path).isEqualTo(404);
            assertThat(response.isProblem()).as(path).isTrue();
        }
        Map<String, String> allowed = Map.of("/health", "GET, HEAD", "/openapi.json", "GET, HEAD",
                "/v1/characters", "GET, HEAD, POST");
        allowed.forEach((path, methods) -> {
            for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                if (methods.contains(method)) {
                    continue;
                }
                var response = api.sendBytes(method, path, null);
                assertThat(response.status()).as(method + " " + path).isEqualTo(405);
                assertThat(response.header("Allow")).as(method + " " + path).isEqualTo(methods);
                assertThat(response.isProblem()).isTrue();
            }
        });
    }

    @Test
    void a_literal_path_segment_is_not_read_as_an_id_of_the_route_beside_it() { // …/messages/batch against …/messages/{message_id}
        String batch = "/v1/conversations/" + Fixtures.conversation(api).get("id").asText() + "/messages/batch";
        for (String method : List.of("GET", "HEAD", "PATCH", "DELETE", "PUT")) {
            var response = api.sendBytes(method, batch, null);
            assertThat(response.status()).as(method + " " + batch).isEqualTo(405);
            assertThat(response.header("Allow")).as(method + " " + batch).isEqualTo("POST");
        }
        assertThat(api.get(batch).json().get("detail").asText()).isEqualTo("GET is not allowed on " + batch + "; it answers POST");
    }

    @Test
    void head_works_wherever_get_does_and_sends_no_body() {
        for (String path : List.of("/health", "/health/live", "/health/ready", "/openapi.json", "/v1/characters")) {
            var head = api.sendBytes("HEAD", path, null);
            assertThat(head.status()).as("HEAD " + path).isEqualTo(200);
            assertThat(head.raw().body()).as("HEAD " + path).isEmpty();
        }
        assertThat(api.sendBytes("HEAD", "/nowhere", null).status()).isEqualTo(404);
    }

    @Test
    void a_body_that_ends_early_or_is_not_chunked_as_announced_is_a_400() throws IOException {
        String headers = characterPostHeaders();

        String truncated = raw(headers + "Content-Length: 100\r\n\r\n{\"name\":\"x\"}");
        String notChunked = raw(headers + "Transfer-Encoding: chunked\r\n\r\n{\"name\":\"x\"}\r\n\r\n");

        for (String response : List.of(truncated, notChunked)) {
            assertThat(response).startsWith("HTTP/1.1 400").contains("application/problem+json");
        }
        assertThat(api.getOk("/v1/characters").get("characters")).isEmpty();
    }

    /** Jetty's own words ("HttpEofException: Early EOF") told a client nothing it could act on. */
    @Test
    void a_body_that_ends_early_or_is_not_chunked_is_described_in_http_terms_not_java_ones() throws IOException {
        String headers = characterPostHeaders();

        String truncated = raw(headers + "Content-Length: 100\r\n\r\n{\"name\":\"x\"}");
        String badChunk = raw(headers + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n");

        assertThat(truncated).contains("/unreadable-body").contains("\"title\":\"Unreadable body\"")
                .contains("ended before the 100 bytes its Content-Length announces").doesNotContain("Exception");
        assertThat(badChunk).contains("/unreadable-body").contains("not chunked as Transfer-Encoding: chunked announces")
                .doesNotContain("Exception").doesNotContain("EOF");
    }

    /** A client that went away in the middle of an import's body was a 500, with Jetty's "Early EOF" logged as an error. */
    @Test
    void an_import_whose_body_ends_before_its_length_is_a_400_that_says_to_run_it_again() throws IOException {
        String response = raw("POST /v1/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                + "\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n"
                + "{\"type\":\"user\",\"external_id\":\"gone\"}\n{\"type\":\"us");

        assertThat(response).startsWith("HTTP/1.1 400").contains("/unreadable-body")
                .contains("ended before the 100000 bytes its Content-Length announces").contains("run the import again")
                .doesNotContain("Exception");
    }

    /** A body that stops coming (fewer bytes than its Content-Length, the connection left open) did not arrive: 408. */
    @Test
    void a_body_that_stops_coming_is_a_408_that_names_no_java_exception() {
        var idle = new java.io.IOException(new java.util.concurrent.TimeoutException("Idle timeout expired: 30003/30000 ms"));

        var sized = Problems.toProblem(Requests.unreadable(idle, 100), "/v1/characters");
        var chunked = Problems.toProblem(Requests.unreadable(idle, -1), "/v1/characters");

        assertThat(sized.status()).isEqualTo(408);
        assertThat(sized.type()).endsWith("/request-timeout");
        assertThat(sized.title()).isEqualTo("Request timeout");
        assertThat(sized.detail()).contains("100 bytes its Content-Length announces").doesNotContain("Exception")
                .doesNotContain("30003");
        assertThat(chunked.detail()).contains("last chunk").doesNotContain("Exception");
    }

    @Test
    void numbers_out_of_range_and_trailing_json_are_named_for_what_they_are() {
        String user = Fixtures.user(api, "ranges");

        var hugeExponent = api.post("/v1/characters", "{\"name\":\"a\",\"traits\":{\"x\":1e99999999999999999999}}");
        var hugeIncrement = api.post("/v1/users/" + user + "/counters", "{\"increments\":{\"xp\":99999999999999999999}}");
        var hugeLimit = api.post("/v1/users/" + user + "/counters", "{\"increments\":{\"xp\":9223372036854775808}}");
        var twoObjects = api.post("/v1/characters", "{\"name\":\"a\"}{\"name\":\"b\"}");
        var hugeId = api.post("/v1/conversations", "{\"user_id\":\"" + user + "\",\"character_ids\":[\"1\",9223372036854775808]}");

        assertThat(hugeExponent.status()).as(hugeExponent.toString()).isEqualTo(400);
        assertThat(hugeExponent.json().get("detail").asText()).as(hugeExponent.toString())
                .contains("1e99999999999999999999").contains("out of the range").doesNotContain("java").doesNotContain("BigDecimal");
        assertRefused(hugeIncrement, "increments.xp");
        assertThat(hugeIncrement.json().get("detail").asText()).as(hugeIncrement.toString())
                .contains("out of range").contains("9223372036854775807").doesNotContain("(5, not");
        assertRefused(hugeLimit, "increments.xp");
        assertThat(hugeLimit.json().get("detail").asText()).contains("out of range");
        var hugeCounter = api.post("/v1/users/" + user + "/counters", "{\"increments\":{\"fan_id\":9223372036854775808}}");
        assertThat(hugeCounter.json().get("detail").asText()).as("a counter, though named like an id")
                .startsWith("increments.fan_id is out of range: from -9223372036854775808");
        var hugeStartingCounter = api.post("/v1/conversations", "{\"user_id\":\"" + user
                + "\",\"character_id\":\"1\",\"counters\":{\"fan_id\":9223372036854775808}}");
        assertThat(hugeStartingCounter.json().get("detail").asText()).as("a conversation's starting counter too")
                .startsWith("counters.fan_id is out of range: from -9223372036854775808");
        assertRefused(hugeId, "character_ids[1]");
        assertThat(hugeId.json().get("detail").asText()).as("no negative id is taken either")
                .isEqualTo("character_ids[1] is out of range: an id is a positive integer up to 9223372036854775807");
        assertThat(twoObjects.status()).isEqualTo(400);
        assertThat(twoObjects.json().get("type").asText()).endsWith("/malformed-json");
        assertThat(twoObjects.json().get("detail").asText()).as(twoObjects.toString()).contains("more after its JSON object");
        assertThat(api.getOk("/v1/characters").get("characters")).isEmpty();
    }

    /** A problem's title says what its type says: not "Invalid request" on a 415, a 403 or JSON that does not parse. */
    @Test
    void each_problem_type_has_a_title_of_its_own() {
        var unsupported = api.sendBytes("POST", "/v1/characters", "x".getBytes(StandardCharsets.UTF_8), "Content-Type", "text/plain");
        var malformed = api.post("/v1/characters", "{");
        var origin = api.sendBytes("OPTIONS", "/v1/characters", null, "Origin", "https://nobody.example",
                "Access-Control-Request-Method", "GET");
        var invalid = api.get("/v1/characters?limit=nope");

        assertThat(unsupported.json().get("title").asText()).as(unsupported.toString()).isEqualTo("Unsupported media type");
        assertThat(malformed.json().get("title").asText()).isEqualTo("Malformed JSON");
        assertThat(origin.status()).isEqualTo(403);
        assertThat(origin.json().get("title").asText()).isEqualTo("Origin not allowed");
        assertThat(invalid.json().get("title").asText()).isEqualTo("Invalid request");
    }

    /** Two Content-Type lines: the first was taken, while a proxy may act on the last. */
    @Test
    void a_body_with_two_content_types_is_refused_naming_the_header() {
        var twice = api.sendBytes("POST", "/v1/characters", "{\"name\":\"x\"}".getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json", "Content-Type", "text/plain");

        assertThat(twice.status()).as(twice.text()).isEqualTo(400);
        assertThat(twice.json().get("errors").get(0).get("field").asText()).isEqualTo("Content-Type");
    }

    /** A transfer coding before chunked ("gzip, chunked") was passed by, and the still-coded body read as JSON. */
    @Test
    void a_body_with_a_transfer_coding_but_chunked_is_refused_naming_it() throws IOException {
        String head = "POST /v1/characters HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                + "\r\nContent-Type: application/json\r\nConnection: close\r\n";
        String chunk = "c\r\n{\"name\":\"a\"}\r\n0\r\n\r\n";

        String coded = raw(head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk);
        String plain = raw(head + "Transfer-Encoding: chunked\r\n\r\n" + chunk);

        assertThat(coded).startsWith("HTTP/1.1 415").contains("Transfer-Encoding gzip, chunked is not taken");
        assertThat(plain).startsWith("HTTP/1.1 201");
    }

    /** No WebSocket: a handshake is refused on both ports, with no session (a cookie, and memory) made for it. */
    @Test
    void a_websocket_handshake_is_refused_and_makes_no_session() throws IOException {
        String handshake = " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        for (String answer : List.of(raw("GET /v1/characters" + handshake + "Authorization: Bearer " + api.key() + "\r\n\r\n"),
                raw("GET /anything" + handshake + "\r\n"), raw(TestServer.get().adminPort(), "GET /metrics" + handshake + "\r\n"))) {
            assertThat(answer).startsWith("HTTP/1.1 400").contains("application/problem+json").contains("no WebSocket upgrade")
                    .doesNotContainIgnoringCase("Set-Cookie").doesNotContain("no route matches");
        }
    }

    /** What Jetty refuses before any route gets a type docs/api.md lists, and a reason that fits the request. */
    @Test
    void requests_jetty_refuses_get_documented_types_and_fitting_reasons() throws IOException {
        String documented = java.nio.file.Files.readString(java.nio.file.Path.of("docs/api.md"));
        String connect = raw("CONNECT /v1/characters HTTP/1.1\r\nHost: localhost\r\n\r\n");
        String tunnel = raw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        Map<String, String> answers = Map.of(
                "CONNECT", connect,
                "CONNECT host:port", tunnel,
                "OPTIONS *", raw("OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
                "Expect: foo", raw("GET /health HTTP/1.1\r\nHost: localhost\r\nExpect: foo\r\n\r\n"),
                "HTTP/2.0", raw("GET /health HTTP/2.0\r\nHost: localhost\r\n\r\n"),
                "HTTP/0.9", raw("GET /health\r\n\r\n"));

        for (var answer : answers.entrySet()) {
            String type = answer.getValue().replaceAll("(?s).*\"type\":\"https://parley.dev/problems/([a-z0-9-]+)\".*", "$1");
            assertThat(type).as(answer.getKey() + ": " + answer.getValue()).doesNotStartWith("http-").doesNotContain("HTTP");
            assertThat(documented).as(answer.getKey() + " answers " + type).contains("| `" + type + "`");
        }
        assertThat(connect).startsWith("HTTP/1.1 400").contains("CONNECT").doesNotContain("encoded NUL");
        assertThat(tunnel).as("a CONNECT Jetty parsed reached the routes as a request for /").startsWith("HTTP/1.1 400")
                .contains("/malformed-request").contains("no tunnels");
        assertThat(raw(TestServer.get().adminPort(), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
                .as("the admin port").startsWith("HTTP/1.1 400").contains("no tunnels");
        assertThat(answers.get("OPTIONS *")).startsWith("HTTP/1.1 404");
        assertThat(answers.get("Expect: foo")).startsWith("HTTP/1.1 417").contains("100-continue");
        assertThat(answers.get("HTTP/2.0")).contains("HTTP/1.1");
    }

    @Test
    void ambiguous_or_loosely_typed_json_is_refused_naming_the_field() {
        String user = Fixtures.user(api, "loose");
        String character = Fixtures.character(api, "Loose");
        String recall = "/v1/users/" + user + "/memories/recall";

        var intAsBoolean = api.post(recall, "{\"character_id\":\"" + character + "\",\"embedding\":[1,0],\"adaptive\":0}");
        var duplicateKey = api.post("/v1/characters", "{\"name\":\"a\",\"name\":\"b\"}");
        var nestedDuplicate = api.post("/v1/characters", "{\"name\":\"a\",\"traits\":{\"mood\":1,\"mood\":2}}");
        var bom = api.sendBytes("POST", "/v1/characters", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                "{\"name\":\"bom\"}".getBytes(StandardCharsets.UTF_8)));

        assertRefused(intAsBoolean, "adaptive");
        assertRefused(duplicateKey, "name");
        assertRefused(nestedDuplicate, "traits.mood");
        assertThat(bom.status()).isEqualTo(400);
        assertThat(bom.json().get("detail").asText()).contains("byte order mark");
        assertThat(api.getOk("/v1/characters").get("characters")).hasSize(1);
    }

    @Test
    void requests_jetty_refuses_before_any_route_are_problems_that_say_why_and_name_the_request() throws IOException {
        String key = "Authorization: Bearer " + api.key() + "\r\n";
        String nulInPath = raw("GET /v1/characters/%00 HTTP/1.1\r\nHost: localhost\r\n" + key + "\r\n");
        String longUri = raw("GET /v1/characters?q=" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: localhost\r\n" + key + "\r\n");
        String badHeader = raw("GET /v1/characters HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n");
        String bigHeaders = raw("GET /v1/characters HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n");

        assertThat(nulInPath).startsWith("HTTP/1.1 400").contains("/malformed-request").contains("encoded NUL (%00)")
                .doesNotContain("/badMessage");
        assertThat(longUri).startsWith("HTTP/1.1 414").contains("/uri-too-long").contains("longer than the 8192 bytes")
                .doesNotContain("/badMessage");
        assertThat(badHeader).startsWith("HTTP/1.1 400").contains("not well-formed HTTP/1.1: Illegal character")
                .contains("\"instance\":\"/v1/characters\"");
        assertThat(bigHeaders).startsWith("HTTP/1.1 431").contains("/headers-too-large");
        for (String response : List.of(nulInPath, longUri, badHeader, bigHeaders)) {
            String id = response.replaceAll("(?s).*X-Request-Id: ([0-9a-f]{32}).*", "$1");
            assertThat(id).as(response).hasSize(32);
            assertThat(response).contains("\"request_id\":\"" + id + "\"");
        }
        assertThat(nulInPath).as("a URI it could not read: the instance is the request").contains("\"instance\":\"urn:parley:request:");
    }

    @Test
    void two_authorization_headers_are_refused_whichever_comes_first() throws IOException {
        String valid = "Authorization: Bearer " + api.key() + "\r\n";
        String other = "Authorization: Bearer pk_not_a_key_of_any_app\r\n";

        for (String headers : List.of(valid + other, other + valid, valid + valid)) {
            String response = raw("GET /v1/characters HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + headers + "\r\n");

            assertThat(response).startsWith("HTTP/1.1 401").contains("one Authorization header");
        }
    }

    @Test
    void client_mistakes_leave_no_stack_trace_in_the_log() throws IOException {
        PrintStream original = System.err;
        var captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            api.get("/");
            api.sendBytes("HEAD", "/health", null);
            api.sendBytes("DELETE", "/openapi.json", null);
            raw("POST /v1/characters HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                    + "\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{");
            api.post("/v1/characters", "{\"name\":\"a\",\"name\":\"b\"}");
        } finally {
            System.setErr(original);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** A malformed Host or CONNECT target is answered 400; Jetty's warning of it was a line per request any client could write. */
    @Test
    void a_malformed_host_or_connect_target_writes_no_warning() throws IOException {
        var running = (ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
        var root = running.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var logged = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        logged.start();
        root.addAppender(logged);
        List<String> answers;
        try {
            answers = List.of(raw("GET /health/live HTTP/1.1\r\nHost: x:abc\r\n\r\n"),
                    raw(TestServer.get().adminPort(), "GET /admin/overview HTTP/1.1\r\nHost: x:abc\r\n\r\n"),
                    raw("CONNECT /v1/characters HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        } finally {
            root.detachAppender(logged);
        }

        for (String answer : answers) {
            assertThat(answer).startsWith("HTTP/1.1 400").contains("/malformed-request");
        }
        assertThat(logged.list).filteredOn(event -> event.getLoggerName().startsWith("org.eclipse.jetty"))
                .extracting(event -> event.getLevel() + " " + event.getFormattedMessage()).isEmpty();
    }

    @Test
    void a_deleted_apps_key_stops_working_at_once() throws Exception {
        var doomed = TestServer.newApp();
        String character = Fixtures.character(doomed, "Doomed");

        try (var sql = TestDatabase.get().connect(TestServer.DATABASE); var delete = sql.prepareStatement(
                "DELETE FROM apps WHERE app_id = (SELECT app_id FROM api_keys WHERE key_prefix = ?)")) {
            delete.setString(1, doomed.key().substring(0, 10));
            assertThat(delete.executeUpdate()).isEqualTo(1);
        }

        Wait.until("the deleted app's key to be refused", Duration.ofSeconds(2), () -> doomed.get("/v1/characters").status() == 401);
        var write = doomed.patch("/v1/characters/" + character, Map.of("name", "after"));
        assertThat(write.status()).as(write.toString()).isEqualTo(401);
        assertThat(api.get("/v1/characters").status()).as("other apps' keys still work").isEqualTo(200);
    }

    private static void assertRefused(Api.Response response, String field) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).as(response.toString()).isEqualTo(field);
    }

    /** Sends bytes as they are, closes the sending side, and returns everything the server answered. */
    /** A POST of a character up to its last header line, without the line that ends the headers. */
    private String characterPostHeaders() {
        return "POST /v1/characters HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                + "\r\nContent-Type: application/json\r\n";
    }

    private static String raw(String request) throws IOException {
        return raw(TestServer.get().port(), request);
    }

    private static String raw(int port, String request) throws IOException {
        try (var socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            socket.shutdownOutput();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] both = new byte[first.length + second.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }
}
