package dev.parley.context;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.ReadCache;
import dev.parley.chat.Characters;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.Users;
import dev.parley.config.CounterFlush;
import dev.parley.db.Database;
import dev.parley.db.QueryLog;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import dev.parley.search.Snippets;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The context is decided in one place: built in process, as the bench's "raw" target builds it,
 * it is the very document the HTTP routes answer, memories included, so the handler adds nothing.
 */
class ChatContextTest {
    private final Api api = TestServer.newApp();
    private final Database database = TestDatabase.pool(TestDatabase.get().target(TestServer.DATABASE), 2);

    @AfterEach
    void close() {
        database.close();
    }

    @Test
    void the_context_built_in_process_is_the_one_http_answers() throws SQLException, IOException {
        String luna = Fixtures.character(api, "Luna");
        String user = Fixtures.user(api, "ctx-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, luna);
        Fixtures.say(api, conversation, "user", "I walked my dogs under the stars");
        Fixtures.say(api, conversation, "assistant", "Which stars did you see?");
        String memories = "/v1/users/" + user + "/memories";
        api.postOk(201, memories, Map.of("character_id", luna, "content", "has two dogs", "embedding", List.of(1.0, 0.0, 0.0)));
        api.postOk(201, memories, Map.of("character_id", luna, "content", "plays the cello", "embedding", List.of(0.0, 1.0, 0.0)));
        long conversationId = Long.parseLong(conversation);

        JsonNode byHttp = api.postOk(200, "/v1/conversations/" + conversation + "/context",
                Map.of("messages", 10, "memories", 1, "memory_embedding", List.of(0.9, 0.1, 0.0)));
        JsonNode byWordsHttp = api.getOk("/v1/conversations/" + conversation + "/context?messages=1&memory_query=cello");
        ChatContext context = inProcess(database);
        long app = appOf(conversationId);
        JsonNode built = asSent(context.build(app,
                new ContextRequest(conversationId, null, null, 10, null, null, 1, ContextRequest.MemoriesOf.USER)
                        .recalling(unit(0.9f, 0.1f, 0f), 1)));
        JsonNode byWords = asSent(context.build(app,
                new ContextRequest(conversationId, null, null, 1, null, "cello", ContextRequest.DEFAULT_MEMORIES,
                        ContextRequest.MemoriesOf.USER)));

        assertThat(withoutRelevance(built)).isEqualTo(withoutRelevance(byHttp));
        assertThat(built.get("memories").findValuesAsText("content")).containsExactly("has two dogs");
        assertThat(withoutRelevance(byWords)).isEqualTo(withoutRelevance(byWordsHttp));
        assertThat(byWords.get("memories").findValuesAsText("content")).containsExactly("plays the cello");
        double rank = byWordsHttp.get("memories").get(0).get("relevance").asDouble();
        assertThat(byWordsHttp.get("memories").get(0).get("relevance").toString())
                .as("a word match's rank as PostgreSQL's float4 has it, without the digits of widening it")
                .isEqualTo(Float.toString((float) rank));
    }

    @Test
    void uncached_a_context_reads_each_character_once_however_often_it_speaks() throws SQLException, IOException {
        String luna = Fixtures.character(api, "Luna");
        String orion = Fixtures.character(api, "Orion");
        String user = Fixtures.user(api, "names-" + System.nanoTime());
        String direct = Fixtures.conversation(api, user, luna);
        String group = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_ids", List.of(luna, orion)))
                .get("id").asText();
        for (int i = 0; i < 4; i++) {
            Fixtures.say(api, direct, "user", "hello " + i);
            Fixtures.say(api, direct, "assistant", "hi " + i);
            Fixtures.say(api, group, "user", "hello all " + i);
            for (String character : List.of(luna, orion)) {
                api.postOk(201, "/v1/conversations/" + group + "/messages",
                        Map.of("role", "assistant", "content", "hi from " + character + " " + i, "character_id", character));
            }
        }
        var registry = new SimpleMeterRegistry();
        Duration hour = Duration.ofHours(1);
        try (Database counted = Database.connect(TestDatabase.get().target(TestServer.DATABASE), 2, Duration.ofSeconds(10),
                new QueryLog(registry, new QueryLog.Thresholds(hour, hour), new Slowest()), registry)) {
            ChatContext context = inProcess(counted);
            long app = appOf(Long.parseLong(direct));

            JsonNode inDirect = asSent(context.build(app, ContextRequest.of(Long.parseLong(direct), 20)));
            assertThat(characterReads(registry)).as("the direct chat's character, read once for four of its messages").isEqualTo(1);
            JsonNode inGroup = asSent(context.build(app, ContextRequest.of(Long.parseLong(group), 20)));
            assertThat(characterReads(registry)).as("then each of the group's two characters, once").isEqualTo(3);

            assertThat(namesOfAssistants(inDirect)).containsExactly("Luna", "Luna", "Luna", "Luna");
            assertThat(namesOfAssistants(inGroup)).containsExactly("Luna", "Orion", "Luna", "Orion", "Luna", "Orion", "Luna", "Orion");
        }
    }

    private static long characterReads(SimpleMeterRegistry registry) {
        var timer = registry.find(Metrics.QUERY_SECONDS).tag("query", "character.get").timer();
        return timer == null ? 0 : timer.count();
    }

    private static List<String> namesOfAssistants(JsonNode context) {
        List<String> names = new java.util.ArrayList<>();
        context.get("messages").forEach(message -> {
            if (message.get("role").asText().equals("assistant")) {
                names.add(message.get("name").asText());
            }
        });
        return names;
    }

    /** As ServiceTarget wires it: nothing cached, the SQL run every time. */
    private ChatContext inProcess(Database database) {
        ReadCache none = ReadCache.none();
        var counters = new CounterBuffer(database, none, Runnable::run, Ticker.systemTicker(), CounterFlush.DEFAULTS,
                new SimpleMeterRegistry());
        return new ChatContext(database, none, new Characters(database, none), new Users(database, none, counters),
                counters, new Recall(database, Clock.systemUTC(), 1 << 20, new SimpleMeterRegistry()), new Memories(database, new Snippets()));
    }

    private static float[] unit(float... v) {
        double norm = Math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        return new float[] {(float) (v[0] / norm), (float) (v[1] / norm), (float) (v[2] / norm)};
    }

    /** The context as the HTTP route writes it. */
    private static JsonNode asSent(ChatContext.Context context) throws IOException {
        return Json.MAPPER.readTree(Json.write(context));
    }

    /** Recency moves a memory's relevance between two reads a few milliseconds apart: the rest must be identical. */
    private static JsonNode withoutRelevance(JsonNode context) {
        JsonNode copy = context.deepCopy();
        copy.get("memories").forEach(memory -> ((ObjectNode) memory).remove("relevance"));
        return copy;
    }

    private long appOf(long conversationId) throws SQLException {
        try (var connection = database.dataSource().getConnection();
             var statement = connection.prepareStatement("SELECT app_id FROM conversations WHERE conversation_id = ?")) {
            statement.setLong(1, conversationId);
            try (var rows = statement.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }
}
