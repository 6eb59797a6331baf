package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.input.Utf8;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every route gets hostile input: malformed JSON, wrong types, huge bodies, bad ids and cursors,
 * SQL metacharacters, NUL bytes, invalid UTF-8. The answer is always a 4xx problem document naming
 * the problem, or a success that stored the text verbatim; never a 500.
 */
class BadInputTest {
    private static final List<String> BAD_IDS = List.of("abc", "0", "-1", "99999999999999999999", "1.5", "%20",
            "1%27%3B%20DROP%20TABLE%20messages%3B--", "%FF", "%00", "%E2%80%AE", "1e3");
    private static final List<String> BAD_BODIES = List.of("{", "[]", "null", "\"text\"", "42", "{\"unexpected\":1}",
            "{\"a\":", "{\"content\":\"\\u0000\"}", "{\"content\":\"\\ud800\"}", "{\"name\":\"x\",\"name\":\"y\",}");
    private static final List<String> SQL = List.of("'; DROP TABLE messages; --", "\" OR 1=1 --", "$$; SELECT pg_sleep(10); $$",
            "\\x00", "%_", "{\"a\":1}");

    private final Api api = TestServer.newApp();
    private final ApiSamples samples = new ApiSamples(api);

    @Test
    void malformed_path_ids_are_refused_or_not_found() {
        for (ApiSamples.Call call : samples.calls()) {
            for (String param : samples.ids.keySet()) {
                if (!call.template().contains("{" + param + "}")) {
                    continue;
                }
                for (String bad : BAD_IDS) {
                    String path = samples.pathWith(call, param, bad);
                    assertClientError(call, sendTo(call, path, call.body()), "path " + param + "=" + bad);
                }
                String unknown = samples.pathWith(call, param, "987654321012");
                var response = sendTo(call, unknown, call.body());
                assertClientError(call, response, "unknown " + param);
                assertThat(response.status()).as(call.operationId() + " unknown " + param).isIn(400, 404);
            }
        }
    }

    @Test
    void malformed_bodies_are_refused_with_a_problem_document() {
        for (ApiSamples.Call call : withBodies()) {
            for (String bad : BAD_BODIES) {
                assertClientError(call, api.sendBytes(call.method(), call.path(), bad.getBytes(StandardCharsets.UTF_8)), bad);
            }
            byte[] invalidUtf8 = concat("{\"content\":\"".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xC3, (byte) 0x28},
                    "\"}".getBytes(StandardCharsets.UTF_8));
            assertClientError(call, api.sendBytes(call.method(), call.path(), invalidUtf8), "invalid UTF-8");
            assertClientError(call, api.sendBytes(call.method(), call.path(), "{}".getBytes(StandardCharsets.UTF_8),
                    "Content-Type", "text/plain"), "text/plain");
            assertClientError(call, api.sendBytes(call.method(), call.path(), new byte[0]), "empty body");
            // The call's own valid body, in an encoding that is not UTF-8 or said to be another: Jackson would read both.
            String valid = new String(Json.writeBytes(call.body()), StandardCharsets.UTF_8);
            assertClientError(call, api.sendBytes(call.method(), call.path(), valid.getBytes(StandardCharsets.UTF_16LE)), "UTF-16");
            assertClientError(call, api.sendBytes(call.method(), call.path(), valid.getBytes(StandardCharsets.UTF_16)), "UTF-16, BOM");
            assertClientError(call, api.sendBytes(call.method(), call.path(), valid.getBytes(StandardCharsets.UTF_8),
                    "Content-Type", "application/json; charset=iso-8859-1"), "charset=iso-8859-1");
        }
    }

    @Test
    void text_that_is_not_well_formed_utf8_is_refused_not_decoded() {
        String messages = "/v1/conversations/" + samples.ids.get("conversation_id") + "/messages";
        int before = api.getOk(messages + "?limit=200").get("messages").size();
        // "/" spelt in two and three bytes (overlong), a code point above U+10FFFF, a surrogate, a lone continuation byte
        for (byte[] bad : List.of(new byte[] {(byte) 0xC0, (byte) 0xAF}, new byte[] {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
                new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                new byte[] {(byte) 0x80})) {
            byte[] body = concat("{\"content\":\"A".getBytes(StandardCharsets.UTF_8), bad, "B\"}".getBytes(StandardCharsets.UTF_8));
            var response = api.sendBytes("POST", messages, body);
            assertThat(response.status()).as(HexFormat.ofDelimiter(" ").formatHex(bad)).isEqualTo(400);
            assertThat(response.json().get("detail").asText()).startsWith("the body is not UTF-8");
        }
        assertThat(api.getOk(messages + "?limit=200").get("messages").size()).as("nothing stored").isEqualTo(before);
        var fine = api.sendBytes("POST", messages, "{\"content\":\"A/B \u00e9 \ud83d\ude00 \u0939\u093f\"}".getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json; charset=UTF-8");
        assertThat(fine.status()).isEqualTo(201);
        assertThat(fine.json().get("content").asText()).isEqualTo("A/B \u00e9 \ud83d\ude00 \u0939\u093f");
    }

    @Test
    void a_problem_quoting_a_lone_surrogate_or_a_control_character_shows_its_escape_in_valid_utf8() {
        String messages = "/v1/conversations/" + samples.ids.get("conversation_id") + "/messages";
        var unknownField = api.post("/v1/characters", "{\"name\":\"x\",\"\\u0007bell\":1}");
        var loneSurrogate = api.post(messages, "{\"role\":\"\\udc00\",\"content\":\"hi\"}");

        for (var answer : List.of(unknownField, loneSurrogate)) {
            assertThat(answer.status()).as(answer.text()).isEqualTo(400);
            assertThat(Utf8.firstInvalid(answer.raw().body())).as("the body is UTF-8: " + answer.text()).isEqualTo(-1);
        }
        assertThat(unknownField.json().get("detail").asText()).startsWith("\\u0007bell is not a field");
        assertThat(unknownField.json().get("errors").get(0).get("field").asText()).isEqualTo("\\u0007bell");
        assertThat(loneSurrogate.json().get("detail").asText()).contains("'\\uDC00'");
    }

    /**
     * Text PostgreSQL cannot store is refused alike in a key and in a value: a value names its own path, a key (which
     * may not be printable, and a lone surrogate in one never reaches Parley as text) the object holding it. A wrong
     * type is said in JSON's words, never a Java type's.
     */
    @Test
    void keys_and_values_that_cannot_be_stored_are_refused_alike_and_a_wrong_type_is_said_in_json_words() {
        String user = "/v1/users/" + samples.ids.get("user_id");
        var soft = new org.assertj.core.api.SoftAssertions();
        record Sent(String path, String body, String field, String detail) {
        }
        for (Sent sent : List.of(
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"a\":\"\\u0000\"}}", "traits.a",
                        "traits.a contains a NUL character (\\u0000), which cannot be stored"),
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"a\\u0000\":1}}", "traits",
                        "traits has a key that contains a NUL character (\\u0000), which cannot be stored"),
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"a\":{\"\\u0000\":1}}}", "traits.a",
                        "traits.a has a key that contains a NUL character (\\u0000), which cannot be stored"),
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"a\":\"\\ud800\"}}", "traits.a",
                        "traits.a contains an unpaired UTF-16 surrogate, which is not valid Unicode"),
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"\\ud800\":1}}", "traits",
                        "traits has a key that contains an unpaired UTF-16 surrogate, which is not valid Unicode"),
                new Sent("/v1/characters", "{\"name\":\"x\",\"traits\":{\"a\":{\"b\\udc00\":1}}}", "traits.a",
                        "traits.a has a key that contains an unpaired UTF-16 surrogate, which is not valid Unicode"),
                new Sent("/v1/characters", "{\"\\ud800\\u0041\":1}", null,
                        "the body has a key that contains an unpaired UTF-16 surrogate, which is not valid Unicode"),
                new Sent(user + "/counters", "{\"increments\":{\"a\\u0000\":1}}", "increments",
                        "increments has a key that contains a NUL character (\\u0000), which cannot be stored"),
                new Sent(user + "/counters", "{\"increments\":{\"\\ud800\":1}}", "increments",
                        "increments has a key that contains an unpaired UTF-16 surrogate, which is not valid Unicode"),
                new Sent(user + "/memories/recall", "{\"character_id\":" + samples.ids.get("character_id")
                        + ",\"embedding\":[\"1\",0]}", "embedding[0]", "embedding[0] must be a JSON number, such as 0.5, not a string"),
                new Sent(user + "/memories/recall", "{\"character_id\":" + samples.ids.get("character_id")
                        + ",\"embedding\":[1,[0]]}", "embedding[1]", "embedding[1] must be a JSON number, such as 0.5, not an array"),
                new Sent(user + "/memories/recall", "{\"character_id\":" + samples.ids.get("character_id")
                        + ",\"embedding\":[1,null]}", "embedding[1]", "embedding[1] must be a JSON number, such as 0.5, not null"))) {
            var answer = api.post(sent.path(), sent.body());
            assertThat(answer.status()).as(sent.body() + ": " + answer.text()).isEqualTo(400);
            soft.assertThat(answer.json().get("type").asText()).as(sent.body()).endsWith("/invalid-request");
            soft.assertThat(answer.json().get("detail").asText()).as(sent.body()).isEqualTo(sent.detail());
            if (sent.field() != null) {
                soft.assertThat(answer.json().path("errors").path(0).path("field").asText()).as(sent.body()).isEqualTo(sent.field());
            }
        }
        soft.assertAll();
    }

    @Test
    void ids_in_bodies_are_numbers_or_strings_of_ascii_digits_as_in_paths() {
        String user = samples.ids.get("user_id");
        String character = samples.ids.get("character_id");
        for (String loose : List.of("  " + user, user + " ", "+" + user, "0x1", "", asDigits(user, '\u0660'), asDigits(user, '\uFF10'))) {
            var response = api.post("/v1/conversations", Map.of("user_id", loose, "character_id", character));
            assertThat(response.status()).as("'" + loose + "'").isEqualTo(400);
            assertThat(response.json().get("detail").asText()).as("'" + loose + "'").startsWith("user_id must be an integer");
        }
        assertThat(api.post("/v1/conversations", Map.of("user_id", user, "character_id", Long.parseLong(character))).status())
                .as("a string of digits, or a number").isEqualTo(201);
        var tooLarge = api.sendBytes("POST", "/v1/users/" + user + "/counters",
                "{\"increments\":{\"xp\":9223372036854775808}}".getBytes(StandardCharsets.UTF_8));
        assertThat(tooLarge.status()).isEqualTo(400);
        assertThat(tooLarge.json().get("detail").asText()).startsWith("increments.xp is out of range");
    }

    @Test
    void numbers_other_than_ids_are_json_numbers_and_a_string_of_digits_is_refused_naming_the_field() {
        record Sent(String operationId, String field, Object value, String named) {
        }
        List<String> taken = new ArrayList<>();
        for (Sent sent : List.of(new Sent("createConversation", "counters", Map.of("affection", "5"), "counters.affection"),
                new Sent("incrementCounters", "increments", Map.of("affection", "5"), "increments.affection"),
                new Sent("incrementUserCounters", "increments", Map.of("xp", "5"), "increments.xp"),
                new Sent("createUserToken", "ttl_seconds", "600", "ttl_seconds"),
                new Sent("recallMemories", "limit", "5", "limit"),
                new Sent("recallMemories", "min_similarity", "0.5", "min_similarity"),
                new Sent("buildContext", "messages", "5", "messages"),
                new Sent("createMemory", "importance", "0.5", "importance"),
                new Sent("updateMemory", "importance", "0.5", "importance"))) {
            ApiSamples.Call call = samples.calls().stream().filter(c -> c.operationId().equals(sent.operationId()))
                    .findFirst().orElseThrow();
            @SuppressWarnings("unchecked")
            Map<String, Object> body = new LinkedHashMap<>((Map<String, Object>) call.body());
            body.put(sent.field(), sent.value());

            var response = sendTo(call, call.path(), body);

            boolean named = response.status() == 400 && response.json().path("errors").findValuesAsText("field").contains(sent.named());
            if (!named) {
                taken.add(sent + " -> " + response.status());
            }
        }
        assertThat(taken).as("strings of digits not refused with a 400 naming the field").isEmpty();
    }

    /** From outside: "limit": 5.0 was told to be "written as a JSON number (5, not "5")", which it was. */
    @Test
    void an_integer_with_a_fraction_is_told_to_drop_it() {
        ApiSamples.Call call = samples.calls().stream().filter(c -> c.operationId().equals("recallMemories")).findFirst()
                .orElseThrow();
        @SuppressWarnings("unchecked")
        Map<String, Object> body = new LinkedHashMap<>((Map<String, Object>) call.body());
        body.put("limit", 5.0);

        var response = sendTo(call, call.path(), body);

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("detail").asText()).contains("limit must be an integer").contains("not 5.0");
    }

    /** {@code digits} written with the ten digits that start at {@code zero} (Arabic-Indic, fullwidth). */
    private static String asDigits(String digits, char zero) {
        return digits.chars().mapToObj(c -> String.valueOf((char) (zero + c - '0'))).reduce("", String::concat);
    }

    @Test
    void query_strings_that_are_not_utf8_are_refused_naming_the_parameter() {
        String user = "/v1/users/" + samples.ids.get("user_id");
        for (String bad : List.of("%FF", "%C0%AF", "%ED%A0%80", "caf%E9")) {
            var byExternalId = api.get("/v1/users?external_id=" + bad);
            assertThat(byExternalId.status()).as(bad).isEqualTo(400);
            assertThat(byExternalId.json().get("detail").asText()).as(bad).startsWith("external_id is not UTF-8");
            assertThat(api.get("/v1/search/messages?user_id=" + samples.ids.get("user_id") + "&q=" + bad).status()).as(bad).isEqualTo(400);
        }
        assertThat(api.get("/v1/search/messages?user_id=" + samples.ids.get("user_id") + "&q=caf%C3%A9%20%EF%BF%BD").status())
                .as("UTF-8, a replacement character too").isEqualTo(200);
        assertThat(api.get(user + "/inbox?limit=5").status()).isEqualTo(200);
    }

    @Test
    void every_field_with_the_wrong_type_is_named_in_the_error() {
        for (ApiSamples.Call call : withBodies()) {
            ObjectNode sample = Json.MAPPER.valueToTree(call.body());
            for (String field : iterable(sample.fieldNames())) {
                for (JsonNode wrong : List.of(Json.MAPPER.getNodeFactory().booleanNode(true),
                        Json.MAPPER.createArrayNode().add(1), Json.MAPPER.getNodeFactory().numberNode(1.5))) {
                    ObjectNode mutated = sample.deepCopy();
                    mutated.set(field, wrong);
                    var response = api.sendBytes(call.method(), call.path(), Json.writeBytes(mutated));
                    assertClientError(call, response, field + "=" + wrong);
                    if (response.status() == 400 && response.json().has("errors")) {
                        assertThat(response.json().get("errors").get(0).get("field").asText())
                                .as(call.operationId() + " " + field + "=" + wrong).startsWith(field);
                    }
                }
            }
        }
    }

    /** A batch sent without its list was told its list must hold one item, as if it had been sent empty. */
    @Test
    void a_batch_without_its_list_is_told_the_list_is_required() {
        var messages = api.post("/v1/conversations/" + samples.ids.get("conversation_id") + "/messages/batch", "{}");
        var memories = api.post("/v1/users/" + samples.ids.get("user_id") + "/memories/batch", "{}");

        assertThat(messages.json().get("detail").asText()).isEqualTo("messages is required: the list of 1 to 1000 messages to append");
        assertThat(memories.json().get("detail").asText()).isEqualTo("memories is required: the list of 1 to 1000 memories to store");
    }

    @Test
    void a_null_is_refused_naming_its_field_unless_the_document_allows_it() {
        int allowed = 0;
        var softly = new org.assertj.core.api.SoftAssertions(); // every field refused wrongly, not the first alone
        for (ApiSamples.Call call : withBodies()) {
            ObjectNode sample = Json.MAPPER.valueToTree(call.body());
            for (String field : samples.fields(call)) { // the sample's and those it leaves out
                if (samples.allowsNull(call, field)) {
                    allowed++;
                    continue;
                }
                ObjectNode mutated = sample.deepCopy();
                mutated.putNull(field);
                var response = api.sendBytes(call.method(), call.path(), Json.writeBytes(mutated));
                String which = call.operationId() + " " + field + "=null: " + response.text();
                softly.assertThat(response.status()).as(which).isEqualTo(400);
                softly.assertThat(response.json().path("errors").path(0).path("field").asText()).as(which).isEqualTo(field);
            }
        }
        softly.assertAll();
        assertThat(allowed).as("the fields whose null the document allows (metadata, an external id a PATCH clears)")
                .isPositive();
        String memories = "/v1/users/" + samples.ids.get("user_id") + "/memories";
        var nullMemory = api.post(memories + "/batch", Map.of("memories", java.util.Collections.singletonList(null)));
        assertThat(nullMemory.status()).isEqualTo(400);
        assertThat(nullMemory.json().get("errors").get(0).get("field").asText()).isEqualTo("memories[0]");
        var nullImportance = new LinkedHashMap<String, Object>(Map.of("character_id", samples.ids.get("character_id"), "content", "x"));
        nullImportance.put("importance", null);
        assertThat(api.post(memories, nullImportance).status()).as("not read as the default 0.5").isEqualTo(400);
        String typing = "/v1/conversations/" + samples.ids.get("conversation_id") + "/typing";
        for (Object notABoolean : List.of("true", 1)) { // a boolean is true or false, as the document types it
            var typed = api.put(typing, Map.of("user_id", samples.ids.get("user_id"), "typing", notABoolean));
            assertThat(typed.status()).as(String.valueOf(notABoolean)).isEqualTo(400);
            assertThat(typed.json().get("errors").get(0).get("field").asText()).isEqualTo("typing");
        }
    }

    @Test
    void huge_bodies_are_refused_with_413() {
        byte[] huge = new byte[9 << 20];
        Arrays.fill(huge, (byte) 'a');
        huge[0] = '"';
        huge[huge.length - 1] = '"';
        for (ApiSamples.Call call : withBodies()) {
            var response = api.sendBytes(call.method(), call.path(), huge);
            assertThat(response.status()).as(call.operationId()).isEqualTo(413);
            assertThat(response.isProblem()).as(call.operationId() + " " + response).isTrue();
        }
    }

    @Test
    void sql_metacharacters_are_stored_as_text() {
        String conversation = "/v1/conversations/" + samples.ids.get("conversation_id") + "/messages";
        for (String text : SQL) {
            JsonNode message = api.postOk(201, conversation, Map.of("content", text, "metadata", Map.of(text, text)));
            JsonNode character = api.postOk(201, "/v1/characters", Map.of("name", text, "traits", Map.of("quote", text)));
            assertThat(api.getOk(conversation + "/" + message.get("id").asText()).get("content").asText()).isEqualTo(text);
            assertThat(character.get("name").asText()).isEqualTo(text);
            var lookup = api.get("/v1/users?external_id=" + java.net.URLEncoder.encode(text, StandardCharsets.UTF_8));
            assertThat(lookup.status()).isEqualTo(404);
        }
        assertThat(api.getOk(conversation + "?limit=200").get("messages").size()).isGreaterThanOrEqualTo(SQL.size());
    }

    @Test
    void bad_query_parameters_are_refused() {
        String conversation = "/v1/conversations/" + samples.ids.get("conversation_id");
        String user = "/v1/users/" + samples.ids.get("user_id");
        String inboxCursor = api.getOk(user + "/inbox?limit=1").get("next_cursor").asText("x");
        List<String> paths = new ArrayList<>(List.of(
                "/v1/characters?limit=abc", "/v1/characters?limit=0", "/v1/characters?limit=101", "/v1/characters?limit=-5",
                "/v1/characters?cursor=%25%25%25", "/v1/characters?cursor=bm90LWEtY3Vyc29y", "/v1/characters?traits=%7Bbad",
                "/v1/characters?traits=%5B1%5D", "/v1/characters?traits=%7B%7D", "/v1/characters?metadata=null",
                "/v1/users", "/v1/users?external_id=", "/v1/conversations?state=%7B", "/v1/conversations?character_id=x",
                "/v1/conversations?character_id=1&user_id=-2", "/v1/conversations?character_id=1&cursor=zz",
                user + "/inbox?limit=1000", user + "/inbox?cursor=" + "A".repeat(500),
                conversation + "/messages?limit=201", conversation + "/messages?before=abc",
                conversation + "/messages?after=" + inboxCursor, conversation + "/messages?before=a&after=b",
                conversation + "/context?messages=0", conversation + "/context?character_id=abc",
                conversation + "/context?character_id=987654321",
                conversation + "/messages/" + samples.ids.get("message_id") + "/replies?cursor=zz"));
        for (String path : paths) {
            var response = api.get(path);
            assertThat(response.status()).as(path + " -> " + response).isBetween(400, 499);
            assertThat(response.isProblem()).as(path).isTrue();
            assertThat(response.json().get("detail").asText()).as(path).isNotBlank();
        }
        assertThat(api.get("/v1/characters?cursor=bm90LWEtY3Vyc29y").json().get("detail").asText())
                .as("a cursor of another endpoint or an earlier version: what to do").contains("first page");
        var twice = api.get("/v1/conversations?state=" + java.net.URLEncoder.encode("{\"mood\":\"calm\",\"mood\":\"sad\"}",
                java.nio.charset.StandardCharsets.UTF_8));
        assertThat(twice.status()).as("a filter's key twice: which one?").isEqualTo(400);
        assertThat(twice.json().get("errors").get(0).get("field").asText()).isEqualTo("state");
        assertThat(twice.json().get("detail").asText()).contains("mood").contains("twice");
        var hard = api.delete(conversation + "/messages/" + samples.ids.get("message_id") + "?hard=maybe");
        assertThat(hard.status()).isEqualTo(400);
        for (String path : List.of(user + "/warm?limit=0", user + "/warm?limit=101", user + "/warm?messages=201",
                user + "/warm?messages=x")) {
            assertThat(api.post(path, null).status()).as(path).isEqualTo(400);
        }
        for (String path : List.of(user + "/counters?durable=maybe", conversation + "/counters?durable=2")) {
            assertThat(api.post(path, Map.of("increments", Map.of("xp", 1))).status()).as(path).isEqualTo(400);
        }
    }

    private List<ApiSamples.Call> withBodies() {
        return samples.calls().stream().filter(c -> c.body() != null).toList();
    }

    private Api.Response sendTo(ApiSamples.Call call, String path, Object body) {
        return TenancyTest.send(api, new ApiSamples.Call(call.operationId(), call.method(), call.template(), path, body));
    }

    private static void assertClientError(ApiSamples.Call call, Api.Response response, String variant) {
        String what = call.operationId() + " " + call.method() + " [" + variant + "] -> " + response;
        assertThat(response.status()).as(what).isBetween(400, 499);
        assertThat(response.isProblem()).as(what).isTrue();
        JsonNode problem = response.json();
        assertThat(problem.get("type").asText()).as(what).startsWith("https://parley.dev/problems/");
        assertThat(problem.get("detail").asText()).as(what).isNotBlank()
                .as(what + ": no Java names in a client's answer").doesNotContain("dev.parley.", "com.fasterxml.", "java.", "Constraints");
    }

    /** What lenient parsers accept and JSON does not: the answer says what is wrong, not which parser switch would allow it. */
    @Test
    void a_body_that_is_almost_json_is_told_what_is_wrong_without_the_parsers_switches() {
        for (String body : List.of("{\"name\": \"x\", \"metadata\": {\"v\": NaN}}", "{\"name\": \"x\", \"metadata\": {\"v\": -Infinity}}",
                "{\"name\": \"x\", \"metadata\": {\"v\": 007}}", "{\"name\": \"x\", \"metadata\": {\"v\": +1}}",
                "{\"name\": \"x\" /* a comment */}", "{'name': 'x'}", "{\"name\": \"cut short\"")) {
            var response = api.sendBytes("POST", "/v1/characters", body.getBytes(StandardCharsets.UTF_8));

            assertThat(response.status()).as(body).isEqualTo(400);
            assertThat(response.json().get("detail").asText()).as(body).startsWith("the body is not valid JSON")
                    .doesNotContain("`", "Feature", "enable", "Source", "REDACTED");
        }
    }

    @Test
    void a_body_nested_past_the_limit_is_told_the_limit_in_the_clients_terms() {
        String nested = "{\"name\": \"x\", \"metadata\": {\"a\": " + "[".repeat(70) + "]".repeat(70) + "}}";

        var response = api.sendBytes("POST", "/v1/characters", nested.getBytes(StandardCharsets.UTF_8));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("detail").asText()).contains("nesting depth").contains("(64)").doesNotContain("`");
    }

    private static byte[] concat(byte[]... parts) {
        var out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> iterator) {
        List<T> all = new ArrayList<>();
        iterator.forEachRemaining(all::add);
        return all;
    }
}
