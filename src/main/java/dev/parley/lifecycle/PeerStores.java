package dev.parley.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.config.DatabaseUrl;
import dev.parley.json.Json;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Calendar;
import java.util.Optional;
import java.util.TimeZone;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Reads the tables of the two stores teams most often leave for Parley, straight from their PostgreSQL,
 * and turns them into import lines ({@link Import}):
 *
 * <ul>
 *   <li>LangChain's {@code PostgresChatMessageHistory} ({@code message_store}: a serial id, a session id and
 *       the message as JSON, {@code {"type": "human", "data": {"content": …}}}): each session becomes a user
 *       and a conversation with one character, "assistant". The table keeps no times unless it has a
 *       {@code created_at} column (langchain-postgres adds one); without it a session's messages are placed
 *       a millisecond apart after its conversation began, which is the import's time the first time it
 *       is run and the stored conversation's afterwards, so a second run finds the same rows.</li>
 *   <li>Mastra's {@code @mastra/pg} memory ({@code mastra_resources}, {@code mastra_threads},
 *       {@code mastra_messages}): a resource becomes a user, a thread a conversation with one character,
 *       "assistant", and a message keeps its role, its time and its text (a v2 message's text parts).</li>
 * </ul>
 *
 * External ids are prefixed with the store's name, so two imports from different stores never meet.
 */
public final class PeerStores {
    public enum Kind { LANGCHAIN, MASTRA }

    private PeerStores() {
    }

    /**
     * Gives {@code emit} every import line for the store at {@code url}, as it reads them, in an order an import takes: characters, users,
     * conversations, then each conversation's messages oldest first. {@code started} gives the start of a
     * conversation Parley already has (by external id), for stores that keep no times.
     */
    public static void read(Kind kind, String url, Function<String, Optional<Instant>> started, Instant now, Consumer<String> emit)
            throws SQLException {
        DatabaseUrl peer = DatabaseUrl.parse(url, "--url", null);
        try (Connection connection = DriverManager.getConnection(peer.jdbcUrl(), peer.user(), peer.password())) {
            connection.setAutoCommit(false); // a cursor: rows are fetched a few thousand at a time
            requireTables(connection, kind);
            switch (kind) {
                case LANGCHAIN -> langchain(connection, started, now, emit);
                case MASTRA -> mastra(connection, emit);
            }
        }
    }

    /** The tables each store keeps its history in. */
    static java.util.List<String> tables(Kind kind) {
        return switch (kind) {
            case LANGCHAIN -> java.util.List.of("message_store");
            case MASTRA -> java.util.List.of("mastra_resources", "mastra_threads", "mastra_messages");
        };
    }

    /**
     * Fails, before a line is given (the store's character was committed before its tables turned out missing), unless
     * each of the store's tables is there and can be read.
     */
    private static void requireTables(Connection sql, Kind kind) throws SQLException {
        for (String table : tables(kind)) {
            try (var statement = sql.createStatement()) {
                statement.executeQuery("SELECT * FROM " + table + " LIMIT 0").close();
            } catch (SQLException e) {
                if ("42P01".equals(e.getSQLState())) {
                    throw new SQLException("no table " + table + " there: is it " + kind.name().toLowerCase(java.util.Locale.ROOT)
                            + "'s database (and schema, in the URL's search_path)?", e.getSQLState(), e);
                }
                if ("42501".equals(e.getSQLState())) {
                    throw new SQLException("the table " + table + " cannot be read by that user: " + e.getMessage(), e.getSQLState(), e);
                }
                throw e;
            }
        }
    }

    private static void langchain(Connection sql, Function<String, Optional<Instant>> started, Instant now, Consumer<String> emit)
            throws SQLException {
        boolean timed;
        try (ResultSet columns = sql.getMetaData().getColumns(null, null, "message_store", "created_at")) {
            timed = columns.next();
        }
        emit.accept(character("langchain"));
        String lastSession = null;
        Instant start = null;
        long position = 0;
        try (var statement = sql.createStatement()) {
            statement.setFetchSize(5_000);
            ResultSet rows = statement.executeQuery("SELECT id, session_id::text, message::text" + (timed ? ", created_at" : "")
                    + " FROM message_store ORDER BY session_id, id");
            while (rows.next()) {
                String session = rows.getString(2);
                String conversation = "langchain:" + session;
                Instant at = timed ? utc(rows, 4) : null;
                if (!session.equals(lastSession)) {
                    lastSession = session;
                    position = 0;
                    start = timed ? at.minusMillis(1) : started.apply(conversation).orElse(now.truncatedTo(ChronoUnit.MILLIS));
                    emit.accept(line("type", "user", "external_id", conversation));
                    emit.accept(line("type", "conversation", "external_id", conversation, "user", conversation,
                            "character", "langchain", "created_at", start.toString()));
                }
                position++;
                JsonNode message = Json.parse(rows.getString(3));
                ObjectNode out = message(conversation, "langchain:" + rows.getLong(1), langchainRole(message.path("type").asText()),
                        text(message.path("data").path("content")), timed ? at : start.plusMillis(position));
                emit.accept(out.toString());
            }
        }
    }

    private static String langchainRole(String type) {
        return switch (type) {
            case "human" -> "user";
            case "ai" -> "assistant";
            case "system" -> "system";
            default -> "tool"; // tool, function, chat
        };
    }

    private static void mastra(Connection sql, Consumer<String> emit) throws SQLException {
        emit.accept(character("mastra"));
        try (var statement = sql.createStatement()) {
            ResultSet resources = statement.executeQuery("""
                    SELECT id FROM mastra_resources
                    UNION SELECT "resourceId" FROM mastra_threads ORDER BY 1""");
            while (resources.next()) {
                emit.accept(line("type", "user", "external_id", "mastra:" + resources.getString(1)));
            }
            ResultSet threads = statement.executeQuery("""
                    SELECT id, "resourceId", title, "createdAt" FROM mastra_threads ORDER BY "createdAt", id""");
            while (threads.next()) {
                ObjectNode thread = (ObjectNode) Json.parse(line("type", "conversation", "external_id", "mastra:" + threads.getString(1),
                        "user", "mastra:" + threads.getString(2), "character", "mastra", "created_at", utc(threads, 4).toString()));
                if (threads.getString(3) != null && !threads.getString(3).isBlank()) {
                    thread.put("title", threads.getString(3));
                }
                emit.accept(thread.toString());
            }
            statement.setFetchSize(5_000);
            ResultSet messages = statement.executeQuery("""
                    SELECT m.id, m.thread_id, m.role, m.content, m."createdAt", t."createdAt"
                      FROM mastra_messages m JOIN mastra_threads t ON t.id = m.thread_id
                     ORDER BY m.thread_id, m."createdAt", m.id""");
            while (messages.next()) {
                Instant at = utc(messages, 5);
                Instant threadStart = utc(messages, 6);
                String role = messages.getString(3);
                emit.accept(message("mastra:" + messages.getString(2), "mastra:" + messages.getString(1),
                        role.equals("user") || role.equals("assistant") || role.equals("system") ? role : "tool",
                        mastraText(messages.getString(4)), at.isAfter(threadStart) ? at : threadStart.plusMillis(1)).toString());
            }
        }
    }

    /**
     * A Mastra message's text: v2 content is JSON with text parts (or a content string); v1 is the text itself, or a
     * JSON list of content parts.
     */
    private static String mastraText(String content) {
        if (content == null || !content.strip().startsWith("{") && !content.strip().startsWith("[")) {
            return content == null ? "" : content;
        }
        try {
            JsonNode json = Json.parse(content);
            if (json.isArray()) {
                return text(json);
            }
            if (json.has("parts")) {
                return text(json.get("parts"));
            }
            return json.has("content") ? text(json.get("content")) : content;
        } catch (RuntimeException notJson) {
            return content;
        }
    }

    /** Text from a string, or from the text parts of a list of content parts ({"type": "text", "text": …}). */
    private static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder text = new StringBuilder();
        content.forEach(part -> {
            if (part.isTextual() || part.path("type").asText().equals("text")) {
                text.append(text.isEmpty() ? "" : "\n").append(part.isTextual() ? part.asText() : part.path("text").asText());
            }
        });
        return text.isEmpty() ? content.toString() : text.toString();
    }

    private static String character(String store) {
        return line("type", "character", "external_id", store, "name", "assistant",
                "system_prompt", "Imported from " + store + ".");
    }

    private static ObjectNode message(String conversation, String externalId, String role, String content, Instant at) {
        ObjectNode message = Json.MAPPER.createObjectNode();
        message.put("type", "message").put("conversation", conversation).put("external_id", externalId).put("role", role)
                .put("content", content.isEmpty() ? " " : content).put("created_at", at.toString());
        return message;
    }

    /** A time column as an instant: a {@code timestamp} without zone (as Mastra's are) is read as UTC. */
    private static Instant utc(ResultSet rows, int column) throws SQLException {
        Timestamp timestamp = rows.getTimestamp(column, Calendar.getInstance(TimeZone.getTimeZone("UTC")));
        return timestamp.toInstant();
    }

    private static String line(String... pairs) {
        ObjectNode line = Json.MAPPER.createObjectNode();
        for (int i = 0; i < pairs.length; i += 2) {
            line.put(pairs[i], pairs[i + 1]);
        }
        return line.toString();
    }
}
