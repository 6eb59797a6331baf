package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What is stored can be read back. JSON documents are checked before they are stored: a number
 * PostgreSQL cannot hold, or one that reads back far longer than it was sent, is refused with a 400
 * naming the field, and limits count the size a read will return. And whatever the database holds,
 * even values no client could have sent (written here through SQL), every read route answers it.
 */
class StoredDataTest {
    /** Reads what the server sends whatever its size or depth, to check it is JSON at all. */
    private static final ObjectMapper LENIENT = JsonMapper.builder().build();

    static {
        LENIENT.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNumberLength(Integer.MAX_VALUE).maxNestingDepth(Integer.MAX_VALUE)
                .maxStringLength(Integer.MAX_VALUE).maxDocumentLength(-1).build());
    }

    private final Api api = TestServer.newApp();

    @Test
    void a_number_postgresql_would_write_out_in_a_hundred_thousand_digits_is_refused_naming_the_field() {
        String conversation = conversationOf(api);
        var message = api.post("/v1/conversations/" + conversation + "/messages", "{\"content\":\"x\",\"metadata\":{\"n\":123456789e99999}}");
        var character = api.post("/v1/characters", "{\"name\":\"p\",\"traits\":{\"n\":123456789e99999}}");
        var user = api.post("/v1/users", "{\"external_id\":\"u\",\"profile\":{\"n\":1e1000000}}");
        var state = api.patch("/v1/conversations/" + conversation, "{\"state\":{\"deep\":{\"x\":1e-1000000}}}");

        assertFieldRefused(message, "metadata.n");
        assertFieldRefused(character, "traits.n");
        assertFieldRefused(user, "profile.n");
        assertFieldRefused(state, "state.deep.x");
        assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages")).isEmpty();
        assertThat(api.getOk("/v1/characters").get("characters")).hasSize(1); // the conversation's own
    }

    @Test
    void a_filter_with_such_a_number_is_refused_too() {
        String filter = URLEncoder.encode("{\"n\":1e1000000}", StandardCharsets.UTF_8);

        assertFieldRefused(api.get("/v1/characters?traits=" + filter), "traits.n");
        assertFieldRefused(api.get("/v1/characters?metadata=" + filter), "metadata.n");
    }

    @Test
    void the_size_limit_counts_numbers_as_they_read_back_not_as_they_were_sent() {
        String conversation = conversationOf(api);
        var numbers = new StringBuilder("{");
        for (int i = 0; i < 17; i++) { // 17 x 1,000 digits read back: over 16 KiB, though sent in 170 bytes
            numbers.append(i == 0 ? "" : ",").append("\"n").append(i).append("\":1e999");
        }
        String body = "{\"content\":\"x\",\"metadata\":" + numbers.append("}") + "}";

        var refused = api.post("/v1/conversations/" + conversation + "/messages", body);

        assertFieldRefused(refused, "metadata");
        assertThat(refused.json().get("detail").asText()).contains("as stored").contains("16384");
        var accepted = api.post("/v1/conversations/" + conversation + "/messages", "{\"content\":\"x\",\"metadata\":{\"n\":1e999}}");
        assertThat(accepted.status()).isEqualTo(201);
        String history = api.get("/v1/conversations/" + conversation + "/messages").text();
        assertThat(history.length()).as("reads back what was counted").isLessThan(4_000);
    }

    @Test
    void a_state_patched_past_the_limit_is_refused_and_the_state_kept() {
        String conversation = conversationOf(api);
        String half = "a".repeat(9_000);
        assertThat(api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("one", half))).status()).isEqualTo(200);

        var refused = api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("two", half)));

        assertFieldRefused(refused, "state");
        assertThat(api.getOk("/v1/conversations/" + conversation).get("state").fieldNames()).toIterable().containsExactly("one");
    }

    @Test
    void every_read_route_answers_whatever_the_database_holds() throws Exception {
        var samples = new ApiSamples(api);
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE)) {
            poison(sql, appOf(sql, api));
        }

        List<ApiSamples.Call> reads = samples.calls().stream()
                .filter(call -> call.method().equals("GET") || List.of("recallMemories", "buildContext").contains(call.operationId()))
                .toList();
        assertThat(reads).hasSizeGreaterThan(15);
        for (ApiSamples.Call call : reads) {
            var response = TenancyTest.send(api, call);
            String what = call.operationId() + " " + call.path();
            assertThat(response.status()).as(what + " -> " + abbreviated(response.text())).isLessThan(500);
            if (response.contentType() != null && response.contentType().contains("json")) {
                assertThat(readsAsJson(response.raw().body())).as(what + " answers JSON").isTrue();
            }
        }
        var context = api.get("/v1/conversations/" + samples.ids.get("conversation_id") + "/context?memory_query=snow");
        assertThat(context.status()).as(abbreviated(context.text())).isEqualTo(200);
        assertThat(context.text()).contains(ALL_PLANES).contains("1" + "0".repeat(1000));
        String conversation = "/v1/conversations/" + samples.ids.get("conversation_id");
        var tooBig = api.patch(conversation, Map.of("state", Map.of("more", 1)));
        assertFieldRefused(tooBig, "state"); // 131,072 digits: over the limit, so it cannot grow
        var trimmed = api.patch(conversation, "{\"state\":{\"huge\":null,\"tiny\":null,\"more\":1}}");
        assertThat(trimmed.status()).as("a stored document nobody could send can still be patched: " + abbreviated(trimmed.text()))
                .isEqualTo(200);
        assertThat(api.get(conversation).text()).doesNotContain("\"huge\"").contains("\"more\": 1");
    }

    /** Text from every Unicode plane in use, a noncharacter, and every control character PostgreSQL can store. */
    static final String ALL_PLANES = "a\u00e9\u07ff\u0800\uffef\uffff" + new String(Character.toChars(0x10000))
            + new String(Character.toChars(0x1f600)) + new String(Character.toChars(0x20000))
            + new String(Character.toChars(0x30000)) + new String(Character.toChars(0xe0001))
            + new String(Character.toChars(0xf0000)) + new String(Character.toChars(0x10fffd));
    private static final String CONTROLS = controls();

    static void poison(Connection sql, long app) throws SQLException {
        String document = awkwardDocument();
        String text = ALL_PLANES + CONTROLS;
        update(sql, "UPDATE messages SET metadata = ?::jsonb, attachments = ?::jsonb, content = ? WHERE app_id = ?",
                document, "[" + document + "]", text, app);
        update(sql, "UPDATE characters SET traits = ?::jsonb, metadata = ?::jsonb, name = ?, system_prompt = ? WHERE app_id = ?",
                document, document, text, text, app);
        update(sql, "UPDATE users SET profile = ?::jsonb WHERE app_id = ?", document, app);
        update(sql, "UPDATE conversations SET state = ?::jsonb, counters = ?::jsonb, title = ?, last_message_preview = ? "
                + "WHERE app_id = ?", document, "{\"affection\": 1e300, \"xp\": -0.000001}", text, text, app);
        update(sql, "UPDATE memories SET metadata = ?::jsonb, content = ? || ' snow' WHERE app_id = ?", document, text, app);
    }

    /** Numbers of 131,072 and 16,383 digits, nesting 5,000 deep, every plane, control characters in keys and values. */
    private static String awkwardDocument() {
        String controlsJson = CONTROLS.chars().mapToObj(c -> String.format("\\u%04x", c))
                .reduce("", String::concat);
        return "{\"huge\": 1e131071, \"tiny\": 1e-16383, \"long\": 1e1000, \"negative\": -1.5e-300,"
                + " \"deep\": " + "[".repeat(5000) + "]".repeat(5000) + ","
                + " \"planes\": \"" + ALL_PLANES + "\", \"" + controlsJson + "\": \"" + controlsJson + "\"}";
    }

    private static String controls() {
        var controls = new StringBuilder();
        for (char c = 1; c < 0x20; c++) {
            controls.append(c);
        }
        return controls.append('\u007f').toString();
    }

    private static void update(Connection sql, String statement, Object... args) throws SQLException {
        try (var update = sql.prepareStatement(statement)) {
            for (int i = 0; i < args.length; i++) {
                update.setObject(i + 1, args[i]);
            }
            assertThat(update.executeUpdate()).as(statement).isPositive();
        }
    }

    static long appOf(Connection sql, Api api) throws SQLException {
        try (var query = sql.prepareStatement("SELECT app_id FROM api_keys WHERE key_prefix = ?")) {
            query.setString(1, api.key().substring(0, 10));
            try (var rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static boolean readsAsJson(byte[] body) {
        try {
            JsonNode ignored = LENIENT.readTree(body);
            return ignored != null;
        } catch (IOException e) {
            return false;
        }
    }

    private static void assertFieldRefused(Api.Response response, String field) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).as(response.toString()).isEqualTo(field);
    }

    private static String abbreviated(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

    private static String conversationOf(Api api) {
        return Fixtures.conversation(api).get("id").asText();
    }
}
