package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Thousands of malformed requests, from a fixed seed, over every operation of /openapi.json:
 * wrong types, numbers PostgreSQL cannot hold or would write out in full, nesting too deep,
 * duplicate keys, byte order marks, invalid UTF-8, ids and cursors that are not, other methods,
 * paths that do not exist, bodies that end early. None may answer 5xx; every 4xx is a problem
 * document; and afterwards every read of the app's data still succeeds.
 */
class FuzzTest {
    private static final long SEED = 20261201L;
    private static final int REQUESTS = 3_000;

    private static final List<String> EVIL_VALUES = List.of("null", "true", "0", "-1", "1.5", "\"\"", "\"x\"", "[]", "{}",
            "1e999999", "123456789e99999", "-1e-999999", "1e999", "9223372036854775808", "-9223372036854775809",
            "\"\\u0000\"", "\"\\ud800\"", "\"" + "y".repeat(70_000) + "\"", "[" + "[".repeat(70) + "]".repeat(70) + "]",
            "{\"a\":1,\"a\":2}", "{\"n\":1e1000000}", "[1,2,3]", "\"123\"", "\"-5\"", "\"1e3\"", "0.0000001");
    private static final List<String> EVIL_IDS = List.of("abc", "0", "-1", "99999999999999999999", "1.5", "%20", "%FF",
            "%00", "1e3", "%27%3B--", "9223372036854775807", "00000000000000000001");
    private static final List<String> EVIL_QUERIES = List.of("limit=-1", "limit=0", "limit=abc", "limit=99999999999",
            "cursor=%25%25%25", "cursor=" + "A".repeat(300), "cursor=bm90LWEtY3Vyc29y", "traits=%7B%22n%22%3A1e1000000%7D",
            "traits=%7Bbad", "metadata=%5B1%5D", "hard=maybe", "q=", "q=%00", "order=sideways", "language=klingon",
            "before=abc", "after=-1", "messages=0", "memories=51", "character_id=x", "user_id=-2", "external_id=",
            "memory_query=" + "z".repeat(2_000));
    private static final List<String> EVIL_PATHS = List.of("/", "/admin", "/v1", "/v1/", "/v2/characters", "/health/deep",
            "/v1/characters/1/2/3", "/v1/conversations//messages", "/openapi.yaml", "/metrics/x", "/v1/search");

    /**
     * Routes whose DELETE, well formed, removes the samples every other call uses: they get malformed ids
     * only (ErasureApiTest covers them well formed).
     */
    private static final java.util.Set<String> ERASING = java.util.Set.of("/v1/users/{user_id}",
            "/v1/characters/{character_id}", "/v1/conversations/{conversation_id}");

    private final Api api = TestServer.newApp();
    private final ApiSamples samples = new ApiSamples(api);
    private final Random random = new Random(SEED);
    private final List<String> failures = new ArrayList<>();

    @Test
    void thousands_of_malformed_requests_get_4xx_problems_and_break_nothing() throws Exception {
        List<ApiSamples.Call> calls = samples.calls();
        int sent = 0;
        while (sent < REQUESTS) {
            ApiSamples.Call call = calls.get(random.nextInt(calls.size()));
            Answer response = Answer.of(ERASING.contains(call.template()) && call.method().equals("DELETE") ? withEvilId(call)
                    : switch (random.nextInt(6)) {
                case 0, 1 -> call.body() == null ? withEvilQuery(call) : withEvilBody(call);
                case 2 -> withEvilId(call);
                case 3 -> withEvilQuery(call);
                case 4 -> withOtherMethod(call);
                default -> withEvilPath();
            });
            check(call, response);
            sent++;
        }
        for (ApiSamples.Call call : calls) {
            if (call.body() != null) {
                check(call, raw(call, "Content-Length: 500\r\n\r\n" + Json.write(call.body())));
                check(call, raw(call, "Transfer-Encoding: chunked\r\n\r\n" + Json.write(call.body()) + "\r\n\r\n"));
                sent += 2;
            }
        }

        assertThat(failures).as(failures.size() + " of " + sent + " requests").isEmpty();
        assertEveryReadStillSucceeds(calls);
    }

    private Api.Response withEvilBody(ApiSamples.Call call) {
        String body = switch (random.nextInt(8)) {
            case 0 -> mutatedField(call);
            case 1 -> mutatedField(call).replaceFirst("\\{", "{\"unexpected\":" + evilValue() + ",");
            case 2 -> "[" + Json.write(call.body()) + "]";
            case 3 -> evilValue();
            case 4 -> Json.write(call.body()).substring(0, Math.max(1, Json.write(call.body()).length() - 1 - random.nextInt(3)));
            case 5 -> "\uFEFF" + Json.write(call.body());
            case 6 -> duplicatedKey(call);
            default -> "";
        };
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(10) == 0) {
            bytes = invalidUtf8(bytes);
        }
        if (random.nextInt(10) == 0) {
            return api.sendBytes(call.method(), call.path(), bytes, "Content-Type", random.nextBoolean() ? "text/plain" : "application/xml");
        }
        return api.sendBytes(call.method(), call.path(), bytes);
    }

    /** The sample body with one field's value replaced by something evil, spliced in as raw JSON text. */
    private String mutatedField(ApiSamples.Call call) {
        ObjectNode sample = Json.MAPPER.valueToTree(call.body());
        List<String> fields = new ArrayList<>();
        sample.fieldNames().forEachRemaining(fields::add);
        String field = fields.get(random.nextInt(fields.size()));
        String marker = "\"@@evil@@\"";
        sample.put(field, "@@evil@@");
        return Json.write(sample).replace(marker, evilValue());
    }

    private String duplicatedKey(ApiSamples.Call call) {
        String json = Json.write(call.body());
        int colon = json.indexOf(':');
        return colon < 0 ? json : "{" + json.substring(1, colon) + ":" + evilValue() + "," + json.substring(1);
    }

    private Api.Response withEvilId(ApiSamples.Call call) {
        List<String> params = samples.ids.keySet().stream().filter(p -> call.template().contains("{" + p + "}")).toList();
        if (params.isEmpty()) {
            return withEvilQuery(call);
        }
        String param = params.get(random.nextInt(params.size()));
        String path = samples.pathWith(call, param, EVIL_IDS.get(random.nextInt(EVIL_IDS.size())));
        return send(call.method(), path, call.body());
    }

    private Api.Response withEvilQuery(ApiSamples.Call call) {
        String query = EVIL_QUERIES.get(random.nextInt(EVIL_QUERIES.size()));
        String path = call.path() + (call.path().contains("?") ? "&" : "?") + query;
        return send(call.method(), path, call.body());
    }

    private Api.Response withOtherMethod(ApiSamples.Call call) {
        List<String> methods = ERASING.contains(call.template()) ? List.of("GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD")
                : List.of("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");
        String method = methods.get(random.nextInt(methods.size()));
        return api.sendBytes(method, call.path(), random.nextBoolean() ? null : "{}".getBytes(StandardCharsets.UTF_8));
    }

    private Api.Response withEvilPath() {
        String path = EVIL_PATHS.get(random.nextInt(EVIL_PATHS.size()));
        return api.sendBytes(random.nextBoolean() ? "GET" : "POST", path, null);
    }

    private Api.Response send(String method, String path, Object body) {
        return api.sendBytes(method, path, body == null ? null : Json.writeBytes(body));
    }

    private Answer raw(ApiSamples.Call call, String rest) throws Exception {
        try (var connection = new RawHttp(TestServer.get().port())) {
            RawHttp.Response response = connection.sendAndHalfClose(call.method() + " " + call.path()
                    + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + api.key()
                    + "\r\nContent-Type: application/json\r\n" + rest);
            return new Answer(call.method(), response.status(), response.headers().get("content-type"), response.body());
        }
    }

    private String evilValue() {
        return EVIL_VALUES.get(random.nextInt(EVIL_VALUES.size()));
    }

    private byte[] invalidUtf8(byte[] bytes) {
        byte[] broken = java.util.Arrays.copyOf(bytes, bytes.length + 2);
        broken[broken.length - 2] = (byte) 0xC3;
        broken[broken.length - 1] = (byte) 0x28;
        return broken;
    }

    /** One answer as the checks need it, whichever client got it. */
    private record Answer(String method, int status, String contentType, String body) {
        static Answer of(Api.Response response) {
            return new Answer(response.raw().request().method(), response.status(), response.contentType(), response.text());
        }

        /** A problem document with a type and a detail; a HEAD answer has no body, so only its media type counts. */
        boolean isProblem() {
            if (contentType == null || !contentType.startsWith("application/problem+json")) {
                return false;
            }
            if (method.equals("HEAD")) {
                return true;
            }
            JsonNode problem = Json.parse(body);
            return problem.hasNonNull("type") && problem.hasNonNull("detail");
        }
    }

    private void check(ApiSamples.Call call, Answer answer) {
        String what = call.operationId() + " " + answer.method() + " -> " + answer.status() + " " + abbreviated(answer.body());
        if (answer.status() >= 500) {
            failures.add(what);
        } else if (answer.status() >= 400 && !answer.isProblem()) {
            failures.add("not a problem document: " + what);
        }
    }

    /** Whatever the fuzzing stored, every read answers; only what a valid DELETE removed may be gone. */
    private void assertEveryReadStillSucceeds(List<ApiSamples.Call> calls) {
        for (ApiSamples.Call call : calls) {
            if (call.method().equals("GET")) {
                var response = TenancyTest.send(api, call);
                boolean deletable = call.template().contains("{memory_id}") || call.template().contains("{message_id}");
                assertThat(response.status()).as(call.operationId() + " after the fuzzing: " + response)
                        .isIn(deletable ? List.of(200, 404) : List.of(200));
            }
        }
        JsonNode history = api.getOk("/v1/conversations/" + samples.ids.get("conversation_id") + "/messages?limit=200");
        assertThat(history.get("messages").size()).isPositive();
    }

    private static String abbreviated(String text) {
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }
}
