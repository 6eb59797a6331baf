package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The API document's request bounds are the server's: for every bound the document gives a body field or a
 * query parameter (required, maxLength, maxItems, minimum, maximum, enum), the first value past it is
 * refused with a 400 naming that field, and the values at it are taken; a field typed object refuses an
 * array and a string. Each request starts from the operation's working sample ({@link ApiSamples}) and
 * changes one thing.
 */
class RequestBoundsTest {
    private static Api api;
    private static ApiSamples samples;
    private static JsonNode document;

    @BeforeAll
    static void samples() {
        api = TestServer.newApp();
        samples = new ApiSamples(api);
        document = api.getOk("/openapi.json");
    }

    @Test
    void everyBoundOfABodyFieldIsTheServers() {
        List<String> broken = new ArrayList<>();
        int bounds = 0;
        for (var call : samples.calls()) {
            JsonNode operation = document.at("/paths/" + pointer(call.template()) + "/" + call.method().toLowerCase());
            JsonNode schema = operation.at("/requestBody/content/application~1json/schema");
            if (schema.isMissingNode() || call.body() == null) {
                continue;
            }
            schema = resolve(schema);
            for (var property : iterable(schema.get("properties").fields())) {
                String field = property.getKey();
                JsonNode bound = resolve(property.getValue());
                for (var variant : bodyVariants(call, field, bound, schema)) {
                    bounds++;
                    check(call, call.path(), variant.body, field, variant.refused, variant.what, broken);
                }
            }
        }
        assertThat(broken).as("bounds the document gives and the server does not keep").isEmpty();
        assertThat(bounds).as("bounds checked").isGreaterThan(60);
    }

    @Test
    void everyBoundOfAQueryParameterIsTheServers() {
        List<String> broken = new ArrayList<>();
        int bounds = 0;
        for (var call : samples.calls()) {
            JsonNode operation = document.at("/paths/" + pointer(call.template()) + "/" + call.method().toLowerCase());
            for (JsonNode parameter : operation.path("parameters")) {
                if (!parameter.path("in").asText().equals("query")) {
                    continue;
                }
                String name = parameter.get("name").asText();
                JsonNode schema = parameter.get("schema");
                List<Variant> variants = new ArrayList<>();
                if (parameter.path("required").asBoolean()) {
                    variants.add(new Variant(withQuery(call.path(), name, null), true, "without it"));
                }
                String base = call.path();
                if (call.operationId().equals("getContext") && (name.equals("memories") || name.equals("memories_of"))) {
                    base = withQuery(base, "memory_query", "cat"); // how many memories, or whose, needs a way to choose them
                }
                if (schema.has("minimum")) {
                    long min = schema.get("minimum").asLong();
                    long max = schema.get("maximum").asLong();
                    variants.add(new Variant(withQuery(base, name, String.valueOf(min - 1)), true, "below its minimum"));
                    variants.add(new Variant(withQuery(base, name, String.valueOf(max + 1)), true, "above its maximum"));
                    variants.add(new Variant(withQuery(base, name, String.valueOf(min)), false, "at its minimum"));
                    variants.add(new Variant(withQuery(base, name, String.valueOf(max)), false, "at its maximum"));
                }
                if (schema.has("maxLength")) { // past it only: a text at its length may find nothing (a 404), rightly
                    variants.add(new Variant(withQuery(base, name, "x".repeat(schema.get("maxLength").asInt() + 1)), true,
                            "past its maxLength"));
                }
                if (schema.has("enum")) {
                    variants.add(new Variant(withQuery(call.path(), name, "no-such-value"), true, "not one of its values"));
                    if (!call.method().equals("DELETE")) { // taking a value of a delete would delete the sample
                        for (JsonNode value : schema.get("enum")) {
                            String path = withQuery(base, name, value.asText());
                            if (call.operationId().equals("listMemories") && value.asText().equals("relevance")) {
                                path = withQuery(path, "q", "cat"); // an order by relevance to words needs the words
                            }
                            variants.add(new Variant(path, false, "= " + value.asText()));
                        }
                    }
                }
                for (Variant variant : variants) {
                    bounds++;
                    check(call, (String) variant.body, call.body(), name, variant.refused, variant.what, broken);
                }
            }
        }
        assertThat(broken).as("bounds the document gives and the server does not keep").isEmpty();
        assertThat(bounds).as("bounds checked").isGreaterThan(60);
    }

    /** A request changed in one way, whether the server must refuse it, and what was changed. */
    private record Variant(Object body, boolean refused, String what) {
    }

    /** The sample body with {@code field} taken just past each of its bounds, and to each bound. */
    private static List<Variant> bodyVariants(ApiSamples.Call call, String field, JsonNode bound, JsonNode schema) {
        // Memories are chosen by an embedding or by words, not both: the words are tried alone.
        Object body = call.operationId().equals("buildContext") && field.equals("memory_query")
                ? with(call.body(), "memory_embedding", null) : call.body();
        List<Variant> variants = new ArrayList<>();
        boolean required = false;
        for (JsonNode name : schema.path("required")) {
            required |= name.asText().equals(field);
        }
        if (required) {
            variants.add(new Variant(with(body, field, null), true, "without it"));
        }
        if (bound.has("maxLength")) {
            int max = bound.get("maxLength").asInt();
            variants.add(new Variant(with(body, field, "x".repeat(max + 1)), true, (max + 1) + " characters"));
            variants.add(new Variant(with(body, field, "x".repeat(max)), false, max + " characters"));
            // The bound is on UTF-8 bytes: the same length in two-byte characters is refused.
            variants.add(new Variant(with(body, field, "é".repeat(max / 2 + 1)), true, (max / 2 + 1) + " two-byte characters"));
        }
        if (bound.path("items").has("maxLength")) { // each text of a list
            int max = bound.get("items").get("maxLength").asInt();
            variants.add(new Variant(with(body, field, List.of("x".repeat(max + 1))), true, "an item of " + (max + 1) + " characters"));
            variants.add(new Variant(with(body, field, List.of("x".repeat(max))), false, "an item of " + max + " characters"));
        }
        String writtenAsJson = "bytes as stored";
        if (bound.path("description").asText().contains(writtenAsJson)) {
            int max = Integer.parseInt(bound.get("description").asText().replaceAll("\\D+", " ").trim().split(" ")[0]);
            variants.add(new Variant(with(body, field, objectOfBytes(max + 1)), true, "a JSON object of " + (max + 1) + " bytes"));
            variants.add(new Variant(with(body, field, objectOfBytes(max)), false, "a JSON object of " + max + " bytes"));
        }
        if (typeOf(bound).contains("\"object\"")) { // a JSON object, a map of counters or a record: nothing else
            variants.add(new Variant(with(body, field, List.of()), true, "an array"));
            variants.add(new Variant(with(body, field, "text"), true, "a string"));
        }
        if (bound.has("maxItems")) {
            List<Object> items = new ArrayList<>();
            Object item = sampleItem(body, field, resolve(bound.get("items")));
            for (int i = 0; i <= bound.get("maxItems").asInt(); i++) {
                items.add(item);
            }
            variants.add(new Variant(with(body, field, items), true, items.size() + " items"));
        }
        if (bound.has("minItems")) {
            variants.add(new Variant(with(body, field, List.of()), true, "no items"));
        }
        if (bound.has("maxProperties")) {
            Map<String, Object> counters = new LinkedHashMap<>();
            for (int i = 0; i <= bound.get("maxProperties").asInt(); i++) {
                counters.put("c" + i, 1);
            }
            variants.add(new Variant(with(body, field, counters), true, counters.size() + " properties"));
        }
        if (bound.has("minProperties")) {
            variants.add(new Variant(with(body, field, Map.of()), true, "no properties"));
        }
        if (bound.has("minimum")) {
            boolean whole = isInteger(bound);
            double min = bound.get("minimum").asDouble();
            double max = bound.get("maximum").asDouble();
            double step = whole ? 1 : 0.0001;
            variants.add(new Variant(with(body, field, number(min - step, whole)), true, "below its minimum"));
            variants.add(new Variant(with(body, field, number(max + step, whole)), true, "above its maximum"));
            variants.add(new Variant(with(body, field, number(min, whole)), false, "at its minimum"));
            variants.add(new Variant(with(body, field, number(max, whole)), false, "at its maximum"));
        }
        JsonNode values = bound.has("enum") ? bound.get("enum") : bound.path("items").path("enum");
        boolean list = bound.has("items"); // an array whose items take one of the values
        for (JsonNode value : values) {
            Object sent = list ? List.of(value.asText()) : value.asText();
            variants.add(new Variant(with(body, field, sent), false, "= " + sent));
        }
        if (!values.isEmpty()) {
            Object sent = list ? List.of("no-such-value") : "no-such-value";
            variants.add(new Variant(with(body, field, sent), true, "not one of its values"));
        }
        return variants;
    }

    private static void check(ApiSamples.Call call, String path, Object body, String field, boolean refused, String what,
                              List<String> broken) {
        byte[] bytes = body == null ? null : Json.writeBytes(body);
        Api.Response response = api.sendBytes(call.method(), path, bytes, "Content-Type", "application/json");
        String request = call.operationId() + " " + field + " " + what;
        if (refused) {
            boolean named = response.status() == 400 && response.isProblem()
                    && response.json().path("errors").findValuesAsText("field").stream()
                    .anyMatch(f -> f.equals(field) || f.startsWith(field + "[")); // or one of its items
            if (!named) {
                broken.add(request + ": expected a 400 naming " + field + ", got " + shorten(response.toString()));
            }
        } else if (response.status() >= 400) {
            broken.add(request + ": expected it taken, got " + shorten(response.toString()));
        }
    }

    private static Object with(Object body, String field, Object value) {
        @SuppressWarnings("unchecked")
        Map<String, Object> changed = new LinkedHashMap<>((Map<String, Object>) body);
        if (value == null) {
            changed.remove(field);
        } else {
            changed.put(field, value);
        }
        return changed;
    }

    /** An item like those the sample sends in {@code field}, else an id or a string as the items' schema says. */
    private static Object sampleItem(Object body, String field, JsonNode items) {
        Object value = ((Map<?, ?>) body).get(field);
        if (value instanceof List<?> list && !list.isEmpty()) {
            return list.get(0);
        }
        return isInteger(items) ? samples.ids.get("character_id") : "an item";
    }

    /** A JSON object whose text as PostgreSQL writes it is {@code bytes} long: {"k": "xxx…"}. */
    private static Map<String, String> objectOfBytes(int bytes) {
        return Map.of("k", "x".repeat(bytes - "{\"k\": \"\"}".length()));
    }

    private static boolean isInteger(JsonNode schema) {
        return typeOf(schema).contains("\"integer\"");
    }

    /** The schema's type as JSON text, whether one type ("integer") or several (["object","null"]); "" when it has none. */
    private static String typeOf(JsonNode schema) {
        JsonNode type = schema.path("type");
        return type.isMissingNode() ? "" : type.toString();
    }

    private static Object number(double value, boolean whole) {
        return whole ? (Object) Math.round(value) : (Object) value;
    }

    /** The path with query parameter {@code name} set to {@code value}, or removed when it is null. */
    private static String withQuery(String path, String name, String value) {
        int question = path.indexOf('?');
        Map<String, String> query = new LinkedHashMap<>();
        if (question >= 0) {
            for (String pair : path.substring(question + 1).split("&")) {
                String[] kv = pair.split("=", 2);
                query.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
            }
        }
        if (value == null) {
            query.remove(name);
        } else {
            query.put(name, value);
        }
        StringBuilder out = new StringBuilder(question >= 0 ? path.substring(0, question) : path);
        char separator = '?';
        for (var entry : query.entrySet()) {
            out.append(separator).append(URLEncoder.encode(entry.getKey(), StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(entry.getValue(), StandardCharsets.UTF_8));
            separator = '&';
        }
        return out.toString();
    }

    private static JsonNode resolve(JsonNode schema) {
        return schema.has("$ref") ? document.at(schema.get("$ref").asText().substring(1)) : schema;
    }

    private static String pointer(String path) {
        return path.replace("~", "~0").replace("/", "~1");
    }

    private static String shorten(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> iterator) {
        return () -> iterator;
    }
}
