package dev.parley;

import static dev.parley.support.Cli.parley;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Cli.Run;
import dev.parley.support.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code parley import}: a file of NDJSON lines, and the tables of LangChain's and Mastra's PostgreSQL
 * stores, created here with the DDL those libraries run and filled as they fill them.
 */
class ImportCommandTest {
    private final String parleyDatabase = "parley_import_cli";

    ImportCommandTest() {
        TestDatabase.get().migrated(parleyDatabase);
    }

    @Test
    void a_file_is_imported_with_progress_and_a_report_and_a_rejected_line_makes_the_status_1() throws Exception {
        String app = app("from-file");
        Path file = Files.createTempFile("parley-import", ".ndjson");
        Files.writeString(file, String.join("\n",
                "{\"type\":\"character\",\"external_id\":\"c\",\"name\":\"Luna\"}",
                "{\"type\":\"user\",\"external_id\":\"u\"}",
                "{\"type\":\"conversation\",\"external_id\":\"k\",\"user\":\"u\",\"character\":\"c\",\"created_at\":\"2025-02-01T00:00:00Z\"}",
                "{\"type\":\"message\",\"conversation\":\"k\",\"external_id\":\"1\",\"role\":\"user\",\"content\":\"hi\",\"created_at\":\"2025-02-01T00:00:01Z\"}",
                "not json"));

        Run run = parley("import", file.toString(), "--app", app, "--database-url", TestDatabase.get().url(parleyDatabase));

        assertThat(run.status()).as("a line was rejected: " + run.err()).isEqualTo(1);
        assertThat(run.err()).contains("importing").contains("bytes/s");
        assertThat(run.out()).doesNotContain("\r").doesNotContain("importing"); // the report alone: | jq . reads it
        JsonNode report = Json.parse(run.out());
        assertThat(report.get("imported").get("messages").asLong()).isEqualTo(1);
        assertThat(report.get("first_rejected").get(0).get("line").asLong()).isEqualTo(5);
    }

    @Test
    void a_file_that_is_not_there_or_a_store_without_its_url_is_a_usage_error_naming_it() throws Exception {
        String url = TestDatabase.get().url(parleyDatabase);
        Path folder = Files.createTempDirectory("parley-import");

        Run missing = parley("import", folder.resolve("nothing.ndjson").toString(), "--app", "a", "--database-url", url);
        Run directory = parley("import", folder.toString(), "--app", "a", "--database-url", url);
        Run noUrl = parley("import", "--from", "langchain", "--app", "a", "--database-url", url);
        Run urlAlone = parley("import", folder.resolve("nothing.ndjson").toString(), "--url", url, "--app", "a",
                "--database-url", url);

        for (Run run : List.of(missing, directory)) {
            assertThat(run.status()).as(run.err()).isEqualTo(2);
            assertThat(run.err()).contains("is not a file that can be read").doesNotContain("java.");
        }
        assertThat(noUrl.status()).isEqualTo(2);
        assertThat(noUrl.err()).contains("--from needs --url");
        assertThat(urlAlone.status()).as("not ignored: " + urlAlone.err()).isEqualTo(2);
        assertThat(urlAlone.err()).contains("--url names another store's PostgreSQL, read with --from");
    }

    @Test
    void langchains_message_store_becomes_conversations_and_a_second_run_adds_nothing() throws SQLException {
        String peer = "langchain_peer";
        TestDatabase.get().fresh(peer);
        try (Connection sql = TestDatabase.get().connect(peer)) {
            // PostgresChatMessageHistory (langchain_community) creates its table so, and adds message_to_dict(message).
            sql.createStatement().execute("""
                    CREATE TABLE IF NOT EXISTS message_store (
                        id SERIAL PRIMARY KEY,
                        session_id TEXT NOT NULL,
                        message JSONB NOT NULL
                    );""");
            for (String[] message : new String[][] {{"s-1", "human", "hi there"}, {"s-1", "ai", "hello! how can I help?"},
                    {"s-2", "system", "be brief"}, {"s-1", "human", "tell me a joke"}}) {
                try (var insert = sql.prepareStatement("INSERT INTO message_store (session_id, message) VALUES (?, ?::jsonb)")) {
                    insert.setString(1, message[0]);
                    insert.setString(2, Json.write(java.util.Map.of("type", message[1], "data", java.util.Map.of(
                            "content", message[2], "additional_kwargs", java.util.Map.of(), "type", message[1], "example", false))));
                    insert.execute();
                }
            }
        }
        String app = app("from-langchain");

        Run first = importFrom("langchain", peer, app);
        Run again = importFrom("langchain", peer, app);

        assertThat(first.status()).as(first.err()).isZero();
        assertThat(report(first).get("imported").get("messages").asLong()).isEqualTo(4);
        assertThat(report(first).get("imported").get("conversations").asLong()).isEqualTo(2);
        assertThat(report(again).get("existing").get("messages").asLong()).isEqualTo(4);
        assertThat(report(again).get("imported").get("messages").asLong()).isZero();
        assertThat(messages("langchain:s-1")).containsExactly("user: hi there", "assistant: hello! how can I help?",
                "user: tell me a joke");
        assertThat(messages("langchain:s-2")).containsExactly("system: be brief");
    }

    /** A store without times: a message keeps the time it was first imported at, whatever was deleted from the store since. */
    @Test
    void an_untimed_langchain_store_run_again_after_rows_were_deleted_finds_what_it_imported_and_adds_the_new_rows_after()
            throws SQLException {
        String peer = "langchain_deleted_peer";
        peerTables(peer, LANGCHAIN_TABLE + """
                INSERT INTO message_store (session_id, message) VALUES
                    ('s-1', '{"type":"human","data":{"content":"one"}}'),
                    ('s-1', '{"type":"ai","data":{"content":"two"}}'),
                    ('s-1', '{"type":"human","data":{"content":"three"}}');""");
        String app = app("langchain-deleted");
        Run first = importFrom("langchain", peer, app);
        peerSql(peer, """
                DELETE FROM message_store WHERE id = 1;
                INSERT INTO message_store (session_id, message) VALUES ('s-1', '{"type":"ai","data":{"content":"four"}}');""");

        Run again = importFrom("langchain", peer, app);
        peerSql(peer, """
                DELETE FROM message_store; -- the session cleared, as LangChain's clear() does
                INSERT INTO message_store (session_id, message) VALUES ('s-1', '{"type":"human","data":{"content":"five"}}');""");
        Run cleared = importFrom("langchain", peer, app);

        assertThat(first.status()).as(first.err()).isZero();
        assertThat(again.status()).as(again.out()).isZero();
        assertThat(report(again).get("existing").get("messages").asLong()).isEqualTo(2);
        assertThat(report(again).get("imported").get("messages").asLong()).isEqualTo(1);
        assertThat(cleared.status()).as(cleared.out()).isZero();
        assertThat(messages("langchain:s-1")).as("kept, with the new ones after")
                .containsExactly("user: one", "assistant: two", "user: three", "assistant: four", "user: five");
    }

    @Test
    void mastras_threads_and_messages_become_conversations_with_their_times() throws SQLException {
        String peer = "mastra_peer";
        // The tables @mastra/pg's PostgresStore creates from its TABLE_SCHEMAS (timestamps without a zone, in UTC).
        peerTables(peer, """
                CREATE TABLE IF NOT EXISTS mastra_threads (id TEXT NOT NULL PRIMARY KEY, "resourceId" TEXT NOT NULL,
                    title TEXT NOT NULL, metadata TEXT, "createdAt" TIMESTAMP NOT NULL, "updatedAt" TIMESTAMP NOT NULL);
                CREATE TABLE IF NOT EXISTS mastra_messages (id TEXT NOT NULL PRIMARY KEY, thread_id TEXT NOT NULL,
                    content TEXT NOT NULL, role TEXT NOT NULL, type TEXT NOT NULL, "createdAt" TIMESTAMP NOT NULL,
                    "resourceId" TEXT);
                CREATE TABLE IF NOT EXISTS mastra_resources (id TEXT NOT NULL PRIMARY KEY, "workingMemory" TEXT,
                    metadata JSONB, "createdAt" TIMESTAMP NOT NULL, "updatedAt" TIMESTAMP NOT NULL);
                INSERT INTO mastra_resources VALUES ('user-1', NULL, '{}', '2025-06-01 09:00:00', '2025-06-01 09:00:00');
                INSERT INTO mastra_threads VALUES ('t-1', 'user-1', 'Planning a trip', NULL, '2025-06-01 09:00:00',
                    '2025-06-01 09:05:00');
                INSERT INTO mastra_messages VALUES
                    ('m-1', 't-1', '{"format":2,"parts":[{"type":"text","text":"Where should I go in June?"}]}', 'user', 'v2',
                     '2025-06-01 09:00:01', 'user-1'),
                    ('m-2', 't-1', 'Lisbon is lovely in June.', 'assistant', 'text', '2025-06-01 09:00:05', 'user-1'),
                    ('m-3', 't-1', '[{"type":"text","text":"And Porto, by train."}]', 'assistant', 'text',
                     '2025-06-01 09:00:06', 'user-1');""");
        String app = app("from-mastra");

        Run run = importFrom("mastra", peer, app);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(report(run).get("imported").get("users").asLong()).isEqualTo(1);
        assertThat(messages("mastra:t-1")).containsExactly("user: Where should I go in June?",
                "assistant: Lisbon is lovely in June.", "assistant: And Porto, by train.");
        try (Connection sql = TestDatabase.get().connect(parleyDatabase);
             var rows = sql.createStatement().executeQuery("""
                     SELECT c.title, m.created_at FROM conversations c JOIN messages m USING (app_id, conversation_id)
                      WHERE c.external_id = 'mastra:t-1' ORDER BY m.message_id LIMIT 1""")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo("Planning a trip");
            assertThat(rows.getTimestamp(2).toInstant()).hasToString("2025-06-01T09:00:01Z");
        }
    }

    @Test
    void langchain_types_become_roles_and_a_row_with_no_content_or_no_role_of_parleys_is_rejected() throws SQLException {
        String peer = "langchain_roles_peer";
        peerTables(peer, LANGCHAIN_TABLE + """
                INSERT INTO message_store (session_id, message) VALUES
                    ('s-1', '{"type":"human","data":{"content":"hi"}}'),
                    ('s-1', '{"type":"AIMessageChunk","data":{"content":"a chunk"}}'),
                    ('s-1', '{"type":"chat","data":{"content":"as the assistant","role":"assistant"}}'),
                    ('s-1', '{"type":"function","data":{"content":"42","name":"f"}}'),
                    ('s-1', '{"type":"human","data":{"content":null}}'),
                    ('s-1', '{"type":"weird","data":{"content":"x"}}'),
                    ('s-1', '{"type":"chat","data":{"content":"x","role":"narrator"}}'),
                    ('s-1', '{"type":"ai","data":{"content":""}}');""");
        String app = app("langchain-roles");

        Run run = importFrom("langchain", peer, app);

        assertThat(run.status()).as("rows rejected").isEqualTo(1);
        assertThat(messages("langchain:s-1")).as("an empty message kept empty, as an append keeps it")
                .containsExactly("user: hi", "assistant: a chunk", "assistant: as the assistant", "tool: 42", "assistant: ");
        assertThat(reasons(run)).containsExactly("message_store row 5: message's data.content is null",
                "message_store row 6: message type weird is not one LangChain writes (human, ai, system, tool, function, "
                        + "chat, or their chunks)",
                "message_store row 7: a chat message's data.role narrator is none of user, assistant, system, tool "
                        + "(or human, ai, function)");
    }

    /** A message earlier than its thread's createdAt keeps its time; a v2 message's text may be its content string. */
    @Test
    void a_mastra_message_keeps_its_time_before_its_threads_and_its_content_string_and_an_unknown_role_is_rejected()
            throws SQLException {
        String peer = "mastra_early_peer";
        mastraPeer(peer, """
                INSERT INTO mastra_resources VALUES ('r', NULL, '{}', '2024-03-10 06:00:00', '2024-03-10 06:00:00');
                INSERT INTO mastra_threads VALUES ('t', 'r', 'early', NULL, '2024-03-10 06:00:00', '2024-03-10 08:00:00');
                INSERT INTO mastra_messages VALUES
                    ('e', 't', 'before its thread began', 'user', 'text', '2024-03-10 05:00:00', 'r'),
                    ('v', 't', '{"format":2,"parts":[],"content":"from its content"}', 'assistant', 'v2', '2024-03-10 06:30:00', 'r'),
                    ('d', 't', 'x', 'data', 'text', '2024-03-10 06:31:00', 'r');""");
        String app = app("mastra-early");

        Run run = importFrom("mastra", peer, app);

        assertThat(messages("mastra:t")).containsExactly("user: before its thread began", "assistant: from its content");
        assertThat(reasons(run)).containsExactly("mastra_messages row d: role data is not one of user, assistant, system, tool");
        try (Connection sql = TestDatabase.get().connect(parleyDatabase);
             var rows = sql.createStatement().executeQuery("""
                     SELECT c.created_at, min(m.created_at) FROM conversations c JOIN messages m USING (app_id, conversation_id)
                      WHERE c.external_id = 'mastra:t' GROUP BY c.created_at""")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getTimestamp(1).toInstant()).as("begun before it").hasToString("2024-03-10T04:59:59.999Z");
            assertThat(rows.getTimestamp(2).toInstant()).as("its own time").hasToString("2024-03-10T05:00:00Z");
        }
    }

    @Test
    void a_langchain_ai_message_with_only_tool_calls_keeps_them_as_json_text() throws SQLException {
        String peer = "langchain_tool_calls_peer";
        peerTables(peer, LANGCHAIN_TABLE + """
                INSERT INTO message_store (session_id, message) VALUES
                    ('s-1', '{"type":"human","data":{"content":"weather?"}}'),
                    ('s-1', '{"type":"ai","data":{"content":"","tool_calls":[{"name":"x","args":{},"id":"c1"}]}}');""");
        String app = app("langchain-tool-calls");

        Run run = importFrom("langchain", peer, app);

        assertThat(run.status()).as(run.err()).isZero();
        List<String> messages = messages("langchain:s-1");
        assertThat(messages).hasSize(2).first().isEqualTo("user: weather?");
        assertThat(messages.get(1)).startsWith("assistant: ");
        JsonNode toolCalls = Json.parse(messages.get(1).substring("assistant: ".length()));
        assertThat(toolCalls.path(0).path("name").asText()).isEqualTo("x");
        assertThat(toolCalls.path(0).path("id").asText()).isEqualTo("c1");
    }

    @Test
    void langchain_messages_with_created_at_are_read_oldest_first_and_their_conversation_begins_before_the_earliest()
            throws SQLException {
        String peer = "langchain_timed_peer";
        // langchain-postgres adds created_at; ids need not follow it (rows copied or written by two processes).
        peerTables(peer, """
                CREATE TABLE message_store (id SERIAL PRIMARY KEY, session_id TEXT NOT NULL, message JSONB NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now());
                INSERT INTO message_store (session_id, message, created_at) VALUES
                    ('s-1', '{"type":"ai","data":{"content":"second"}}', '2025-03-01 10:00:05Z'),
                    ('s-1', '{"type":"human","data":{"content":"first"}}', '2025-03-01 10:00:01Z');""");
        String app = app("langchain-timed");

        Run run = importFrom("langchain", peer, app);

        assertThat(run.status()).as(run.out()).isZero();
        assertThat(messages("langchain:s-1")).containsExactly("user: first", "assistant: second");
        try (Connection sql = TestDatabase.get().connect(parleyDatabase);
             var rows = sql.createStatement().executeQuery("SELECT created_at FROM conversations WHERE external_id = 'langchain:s-1'"
                     + " AND app_id = (SELECT app_id FROM apps WHERE name = '" + app + "')")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getTimestamp(1).toInstant()).hasToString("2025-03-01T10:00:00.999Z");
        }
    }

    @Test
    void a_bad_langchain_row_is_rejected_naming_its_id_and_column_and_the_rows_after_it_are_imported() throws SQLException {
        String peer = "langchain_bad_rows_peer";
        // Looser than LangChain's own DDL, as a table made by hand or by an older version can be.
        peerTables(peer, """
                CREATE TABLE message_store (id SERIAL PRIMARY KEY, session_id TEXT, message TEXT, created_at TIMESTAMPTZ);
                INSERT INTO message_store (session_id, message, created_at) VALUES
                    ('s-1', '{"type":"human","data":{"content":"hi"}}', '2025-03-01 10:00:01Z'),
                    ('s-1', NULL, '2025-03-01 10:00:02Z'),
                    (NULL, '{"type":"human","data":{"content":"whose?"}}', '2025-03-01 10:00:02Z'),
                    ('s-1', '{not json', '2025-03-01 10:00:03Z'),
                    ('s-1', '{"type":"ai","data":{"content":"when?"}}', NULL),
                    ('s-1', '{"type":"ai","data":{"content":"hello"}}', '2025-03-01 10:00:04Z');""");
        String app = app("langchain-bad-rows");

        Run run = importFrom("langchain", peer, app);

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).doesNotContain("failed").doesNotContain("Cannot invoke");
        assertThat(reasons(run)).hasSize(4).contains("message_store row 2: message is NULL",
                "message_store row 3: session_id is NULL", "message_store row 5: created_at is NULL")
                .anySatisfy(reason -> assertThat(reason).startsWith("message_store row 4: message is not JSON"));
        assertThat(messages("langchain:s-1")).containsExactly("user: hi", "assistant: hello");
    }

    @Test
    void a_bad_mastra_row_is_rejected_naming_its_id_and_column_and_a_rejected_threads_messages_with_it() throws SQLException {
        String peer = "mastra_bad_rows_peer";
        mastraPeer(peer, """
                INSERT INTO mastra_resources VALUES ('user-1', NULL, '{}', '2025-06-01 09:00:00', '2025-06-01 09:00:00');
                INSERT INTO mastra_threads VALUES ('t-1', 'user-1', 'Fine', NULL, '2025-06-01 09:00:00', '2025-06-01 09:00:00'),
                    ('t-2', 'user-1', 'No time', NULL, NULL, '2025-06-01 09:00:00');
                INSERT INTO mastra_messages VALUES
                    ('m-1', 't-1', 'first', 'user', 'text', '2025-06-01 09:00:01', 'user-1'),
                    ('m-2', 't-1', 'no role', NULL, 'text', '2025-06-01 09:00:02', 'user-1'),
                    ('m-3', 't-1', 'no time', 'assistant', 'text', NULL, 'user-1'),
                    ('m-4', 't-2', 'in a thread with no time', 'user', 'text', '2025-06-01 09:00:03', 'user-1'),
                    ('m-5', 't-1', 'last', 'assistant', 'text', '2025-06-01 09:00:04', 'user-1');""");
        String app = app("mastra-bad-rows");

        Run run = importFrom("mastra", peer, app);

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).doesNotContain("failed").doesNotContain("Cannot invoke");
        assertThat(reasons(run)).containsExactlyInAnyOrder("mastra_threads row t-2: createdAt is NULL",
                "mastra_messages row m-2: role is NULL", "mastra_messages row m-3: createdAt is NULL",
                "mastra_messages row m-4: its thread t-2 was rejected");
        assertThat(messages("mastra:t-1")).containsExactly("user: first", "assistant: last");
        assertThat(messages("mastra:t-2")).isEmpty();
    }

    @Test
    void a_mastra_thread_without_a_resource_is_rejected_with_its_messages_and_makes_no_user() throws SQLException {
        String peer = "mastra_no_resource_peer";
        mastraPeer(peer, """
                INSERT INTO mastra_threads VALUES ('t-1', NULL, 'Whose?', NULL, '2025-06-01 09:00:00', '2025-06-01 09:00:00'),
                    ('t-2', NULL, 'Whose too?', NULL, '2025-06-01 09:00:00', '2025-06-01 09:00:00');
                INSERT INTO mastra_messages VALUES ('m-1', 't-1', 'hi', 'user', 'text', '2025-06-01 09:00:01', NULL);""");
        String app = app("mastra-no-resource");

        Run run = importFrom("mastra", peer, app);

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(reasons(run)).containsExactlyInAnyOrder("mastra_threads row t-1: resourceId is NULL",
                "mastra_threads row t-2: resourceId is NULL", "mastra_messages row m-1: its thread t-1 was rejected");
        assertThat(report(run).get("imported").get("users").asLong()).isZero();
        assertThat(messages("mastra:t-1")).isEmpty();
    }

    @Test
    void a_mastra_message_whose_thread_is_not_there_is_rejected_naming_the_thread() throws SQLException {
        String peer = "mastra_orphan_peer";
        mastraPeer(peer, """
                INSERT INTO mastra_resources VALUES ('user-1', NULL, '{}', '2025-06-01 09:00:00', '2025-06-01 09:00:00');
                INSERT INTO mastra_threads VALUES ('t-1', 'user-1', 'Here', NULL, '2025-06-01 09:00:00', '2025-06-01 09:00:00');
                INSERT INTO mastra_messages VALUES ('m-1', 't-1', 'hi', 'user', 'text', '2025-06-01 09:00:01', 'user-1'),
                    ('m-2', 't-gone', 'lost', 'user', 'text', '2025-06-01 09:00:02', 'user-1');""");
        String app = app("mastra-orphan");

        Run run = importFrom("mastra", peer, app);

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(reasons(run)).containsExactly("mastra_messages row m-2: thread_id t-gone has no row in mastra_threads");
        assertThat(messages("mastra:t-1")).containsExactly("user: hi");
    }

    @Test
    void a_store_without_its_tables_fails_before_anything_is_written_and_a_bad_url_is_a_usage_error_naming_url() throws SQLException {
        String peer = "empty_peer";
        TestDatabase.get().fresh(peer);
        for (String store : List.of("mastra", "langchain")) {
            String app = app("no-tables-" + store);

            Run run = importFrom(store, peer, app);

            assertThat(run.status()).as(run.err()).isEqualTo(1);
            assertThat(run.err()).contains("no table " + (store.equals("mastra") ? "mastra_resources" : "message_store"));
            try (Connection sql = TestDatabase.get().connect(parleyDatabase);
                 var rows = sql.createStatement().executeQuery("SELECT count(*) FROM characters c JOIN apps a USING (app_id) "
                         + "WHERE a.name = '" + app + "'")) {
                rows.next();
                assertThat(rows.getLong(1)).as("characters made for " + store).isZero();
            }
        }

        Run mysql = parley("import", "--from", "langchain", "--url", "mysql://foo", "--app", "a",
                "--database-url", TestDatabase.get().url(parleyDatabase));

        assertThat(mysql.status()).as(mysql.err()).isEqualTo(2);
        assertThat(mysql.err()).contains("--url must start with postgres://").doesNotContain("--database-url (DATABASE_URL)");
    }

    @Test
    void an_import_stopped_by_a_signal_says_to_run_it_again() throws Exception {
        String app = app("interrupted");
        Path log = Files.createTempFile("parley-import-interrupted", ".log");
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "import", "-", "--app", app, "--database-url", TestDatabase.get().url(parleyDatabase))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            var stdin = process.getOutputStream(); // left open: the import waits for more lines
            var lines = new StringBuilder();
            for (int i = 0; i <= dev.parley.lifecycle.Import.CHUNK; i++) { // a chunk's progress, then one line more
                lines.append("{\"type\":\"user\",\"external_id\":\"u").append(i).append("\"}\n");
            }
            stdin.write(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            stdin.flush();
            dev.parley.support.Wait.forValue("the import's progress in " + log, java.time.Duration.ofSeconds(60),
                    () -> java.util.Optional.of(Files.readString(log)).filter(output -> output.contains("importing")));

            // SIGTERM, as a service manager stops it: Ctrl-C's SIGINT runs the same hook, but a shell that starts a job in
            // the background (CI's, say) makes its processes ignore SIGINT, and a JVM keeps a signal ignored from birth.
            new ProcessBuilder("kill", "-TERM", String.valueOf(process.pid())).inheritIO().start().waitFor();

            assertThat(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("stops at the signal").isTrue();
            assertThat(process.exitValue()).as("128 + SIGTERM").isEqualTo(143);
            assertThat(Files.readString(log)).contains("interrupted; run the same command again to finish");
        } finally {
            process.destroyForcibly();
        }
    }

    /** Stopped by a signal, a command stops the embedded PostgreSQL it started too: it was left running with no parent. */
    @Test
    void an_import_stopped_by_a_signal_stops_the_embedded_postgresql_it_started() throws Exception {
        Path folder = Files.createTempDirectory("parley-import-embedded");
        String jvm = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = Files.createTempFile("parley-import-embedded", ".log");
        Process made = new ProcessBuilder(jvm, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "apps", "create", "embedded", "--data-dir", folder.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertThat(made.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(made.exitValue()).as(Files.readString(log)).isZero();
        Process process = new ProcessBuilder(jvm, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "import", "-", "--app", "embedded", "--data-dir", folder.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path pid = folder.resolve("pg").resolve("postmaster.pid");
        try {
            var stdin = process.getOutputStream(); // left open: the import waits for more lines
            var lines = new StringBuilder();
            for (int i = 0; i <= dev.parley.lifecycle.Import.CHUNK; i++) {
                lines.append("{\"type\":\"user\",\"external_id\":\"u").append(i).append("\"}\n");
            }
            stdin.write(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            stdin.flush();
            dev.parley.support.Wait.forValue("the import's progress in " + log, java.time.Duration.ofSeconds(120),
                    () -> java.util.Optional.of(Files.readString(log)).filter(output -> output.contains("importing")));
            assertThat(pid).as("the import's PostgreSQL runs").exists();

            new ProcessBuilder("kill", "-TERM", String.valueOf(process.pid())).inheritIO().start().waitFor();

            assertThat(process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("stops at the signal").isTrue();
            assertThat(process.exitValue()).as("128 + SIGTERM").isEqualTo(143);
            assertThat(pid).as("PostgreSQL stopped with it: " + Files.readString(log)).doesNotExist();
        } finally {
            process.destroyForcibly();
            if (Files.exists(pid)) { // left running: stop it, not the test's other servers
                String postmaster = Files.readAllLines(pid).getFirst().strip();
                new ProcessBuilder("kill", "-KILL", postmaster).inheritIO().start().waitFor();
            }
            org.apache.commons.io.file.PathUtils.deleteDirectory(folder);
        }
    }

    @Test
    void an_import_that_loses_the_database_says_so_in_one_line_with_what_was_committed_and_to_run_it_again() throws Exception {
        String app = app("outage");
        Path file = Files.createTempFile("parley-import-outage", ".ndjson");
        var lines = new StringBuilder();
        for (int i = 0; i < 100 * dev.parley.lifecycle.Import.CHUNK; i++) {
            lines.append("{\"type\":\"user\",\"external_id\":\"u").append(i).append("\"}\n");
        }
        Files.writeString(file, lines);
        Path out = Files.createTempFile("parley-import-outage", ".out");
        Path err = Files.createTempFile("parley-import-outage", ".err");
        var status = new java.util.concurrent.atomic.AtomicInteger(-1);
        try (var line = dev.parley.support.RoundTrips.to(TestDatabase.get().target(parleyDatabase))) {
            var through = line.target();
            String url = "postgres://" + through.user() + (through.password() == null ? "" : ":" + through.password()) + "@"
                    + through.jdbcUrl().replaceFirst("^jdbc:postgresql://", "");
            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "import", file.toString(), "--app", app, "--database-url", url)
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try {
                dev.parley.support.Wait.forValue("users imported", java.time.Duration.ofSeconds(60), () -> {
                    try (Connection sql = TestDatabase.get().connect(parleyDatabase);
                         var rows = sql.createStatement().executeQuery("SELECT count(*) FROM users u JOIN apps a USING (app_id) "
                                 + "WHERE a.name = '" + app + "'")) {
                        rows.next();
                        // Two: the first user's commit can be in the table while its answer is still on its way,
                        // and cut then, the import never counted it (a dated CI run saw 0); the second is sent only
                        // once the first's answer came.
                        return java.util.Optional.of(rows.getLong(1)).filter(n -> n > 1);
                    }
                });
                line.cutAll(); // as kill -9 of the postmaster

                assertThat(process.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)).as("gives up").isTrue();
                status.set(process.exitValue());
            } finally {
                process.destroyForcibly();
            }
        }
        String stderr = Files.readString(err);
        assertThat(status.get()).as(stderr).isEqualTo(1);
        assertThat(stderr).as(stderr).contains("parley: lost the database connection")
                .contains("run the same command again to finish: lines already imported are found and skipped")
                .doesNotContain("\tat ").doesNotContain("WARN");
        JsonNode report = Json.parse(Files.readString(out).strip());
        long users = report.get("imported").get("users").asLong();
        assertThat(users).isPositive();
        assertThat(stderr).contains("the import stopped with " + users + " new row(s) committed and 0 found already there");
    }

    /** It said "run the same command again to finish: lines already imported are found and skipped" of an import that never began. */
    @Test
    void an_import_that_cannot_reach_its_database_says_nothing_was_imported_and_nothing_of_finishing() throws Exception {
        Path file = Files.createTempFile("parley-import", ".ndjson");
        Files.writeString(file, "{\"type\":\"user\",\"external_id\":\"u\"}\n");

        Run run = parley("import", file.toString(), "--app", "any", "--database-url", "postgres://parley@127.0.0.1:1/parley");

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err()).contains("nothing was imported; run the same command again once the database can be reached")
                .doesNotContain("to finish").doesNotContain("\tat ");
    }

    private String app(String name) {
        Run created = parley("apps", "create", name + "-" + System.nanoTime(), "--database-url", TestDatabase.get().url(parleyDatabase));
        assertThat(created.status()).isZero();
        return created.out().replaceAll("(?s).*app '([^']+)'.*", "$1");
    }

    private Run importFrom(String store, String peer, String app) {
        return parley("import", "--from", store, "--url", TestDatabase.get().url(peer), "--app", app,
                "--database-url", TestDatabase.get().url(parleyDatabase));
    }

    /** Mastra's three tables, with no NOT NULL but their keys' (as a table made by hand or by an older version can be). */
    private static void mastraPeer(String peer, String rows) throws SQLException {
        peerTables(peer, """
                CREATE TABLE mastra_threads (id TEXT NOT NULL PRIMARY KEY, "resourceId" TEXT, title TEXT, metadata TEXT,
                    "createdAt" TIMESTAMP, "updatedAt" TIMESTAMP);
                CREATE TABLE mastra_messages (id TEXT NOT NULL PRIMARY KEY, thread_id TEXT, content TEXT, role TEXT, type TEXT,
                    "createdAt" TIMESTAMP, "resourceId" TEXT);
                CREATE TABLE mastra_resources (id TEXT NOT NULL PRIMARY KEY, "workingMemory" TEXT, metadata JSONB,
                    "createdAt" TIMESTAMP, "updatedAt" TIMESTAMP);
                """ + rows);
    }

    /** The reasons the report gives for its rejected lines. */
    private static List<String> reasons(Run run) {
        List<String> reasons = new ArrayList<>();
        report(run).get("first_rejected").forEach(rejected -> reasons.add(rejected.get("reason").asText()));
        return reasons;
    }

    private static JsonNode report(Run run) {
        return Json.parse(run.out().lines().reduce((first, last) -> last).orElseThrow());
    }

    /** The conversation's messages as "role: content", oldest first. */
    private List<String> messages(String conversation) throws SQLException {
        List<String> messages = new ArrayList<>();
        try (Connection sql = TestDatabase.get().connect(parleyDatabase);
             var statement = sql.prepareStatement("""
                     SELECT m.role, m.content FROM conversations c JOIN messages m USING (app_id, conversation_id)
                      WHERE c.external_id = ? ORDER BY m.seq""")) {
            statement.setString(1, conversation);
            var rows = statement.executeQuery();
            while (rows.next()) {
                messages.add(rows.getString(1) + ": " + rows.getString(2));
            }
        }
        return messages;
    }

    /** Runs {@code sql} in the store's database {@code peer}: a store's rows changed after an import. */
    private static void peerSql(String peer, String sql) throws SQLException {
        try (Connection connection = TestDatabase.get().connect(peer)) {
            connection.createStatement().execute(sql);
        }
    }

    /** LangChain's message_store as PostgresChatMessageHistory makes it (no created_at). */
    private static final String LANGCHAIN_TABLE =
            "CREATE TABLE message_store (id SERIAL PRIMARY KEY, session_id TEXT NOT NULL, message JSONB NOT NULL);\n";

    /** A fresh database {@code peer} holding what {@code sql} makes: a store's tables as it leaves them. */
    private static void peerTables(String peer, String sql) throws SQLException {
        TestDatabase.get().fresh(peer);
        peerSql(peer, sql);
    }
}
