package dev.parley.lifecycle;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.config.DatabaseUrl;
import dev.parley.input.Check;
import dev.parley.json.Json;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Calendar;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TimeZone;
import java.util.function.Function;

/**
 * Reads the tables of the two stores teams most often leave for Parley, straight from their PostgreSQL,
 * and turns them into import lines ({@link Import}):
 *
 * <ul>
 *   <li>LangChain's {@code PostgresChatMessageHistory} ({@code message_store}: a serial id, a session id and
 *       the message as JSON, {@code {"type": "human", "data": {"content": …}}}): each session becomes a user
 *       and a conversation with one character, "assistant". The table keeps no times unless it has a
 *       {@code created_at} column (langchain-postgres adds one); with it, a session's messages are read oldest first
 *       and its conversation begins a millisecond before the earliest; without it a session's messages are placed
 *       a millisecond apart after its conversation began, which is the import's time the first time it
 *       is run and the stored conversation's afterwards. A run again gives a message imported before its stored
 *       time ({@link Imported}), so it is found whichever rows were deleted from the store since, and places a new
 *       one after the conversation's newest message.</li>
 *   <li>Mastra's {@code @mastra/pg} memory ({@code mastra_resources}, {@code mastra_threads},
 *       {@code mastra_messages}): a resource becomes a user, a thread a conversation with one character,
 *       "assistant", and a message keeps its role, its time and its text (a v2 message's text parts).</li>
 * </ul>
 *
 * External ids are prefixed with the store's name, so two imports from different stores never meet. A row that cannot
 * become a line (a NULL where a value is needed, a message that is not JSON) is given as a rejection naming its table,
 * id and column, as a bad line of a file is; a rejected thread's messages are rejected with it.
 */
public final class PeerStores {
    public enum Kind { LANGCHAIN, MASTRA }

    /** Where a store's rows go: an import line each, or the reason a row cannot become one. */
    public interface Output {
        void line(String line);

        void rejected(String reason);
    }

    /**
     * A conversation Parley holds already, for a store that keeps no times: when it began, its newest message's time,
     * and the time of each message an import gave it, by the key of its external id ({@link Import#messageKey}).
     * Imported before that key was kept (none has one), its messages are found by their places, as they were made.
     */
    public record Imported(Instant start, Instant newest, Map<Long, Instant> byKey) {
    }

    /** Why a row cannot become a line; the loop that reads the rows names the table and the row's id. */
    private static final class BadRow extends Exception {
        BadRow(String reason) {
            super(reason, null, false, false); // a row's fault, not the code's: no stack trace to fill
        }
    }

    private PeerStores() {
    }

    /**
     * Gives {@code emit} every import line for the store at {@code url}, as it reads them, in an order an import takes: characters, users,
     * conversations, then each conversation's messages oldest first, and the reason for each row that cannot become one
     * where that row would be. {@code imported} gives a conversation Parley already has (by external id), for stores
     * that keep no times.
     */
    public static void read(Kind kind, String url, Function<String, Optional<Imported>> imported, Instant now, Output emit)
            throws SQLException {
        DatabaseUrl peer = DatabaseUrl.parse(url, "--url", null);
        try (Connection connection = DriverManager.getConnection(peer.jdbcUrl(), peer.user(), peer.password())) {
            connection.setAutoCommit(false); // a cursor: rows are fetched a few thousand at a time
            requireTables(connection, kind);
            switch (kind) {
                case LANGCHAIN -> langchain(connection, imported, now, emit);
                case MASTRA -> mastra(connection, emit);
            }
        }
    }

    /** The tables each store keeps its history in. */
    static List<String> tables(Kind kind) {
        return switch (kind) {
            case LANGCHAIN -> List.of("message_store");
            case MASTRA -> List.of("mastra_resources", "mastra_threads", "mastra_messages");
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

    private static void langchain(Connection sql, Function<String, Optional<Imported>> imported, Instant now, Output emit)
            throws SQLException {
        boolean timed;
        try (ResultSet columns = sql.getMetaData().getColumns(null, null, "message_store", "created_at")) {
            timed = columns.next();
        }
        emit.line(character("langchain"));
        String lastSession = null;
        Instant earliest = null; // timed: the session's first created_at (NULLs sort last), whichever row is good
        Instant start = null; // null until the session's conversation is given, at its first good row
        Imported before = null; // untimed: the session's conversation as Parley has it, if it has it
        Instant last = null; // untimed: the time given to the row before
        long position = 0;
        try (var statement = sql.createStatement()) {
            statement.setFetchSize(5_000);
            ResultSet rows = statement.executeQuery(timed
                    ? "SELECT id, session_id::text, message::text, created_at FROM message_store ORDER BY session_id, created_at, id"
                    : "SELECT id, session_id::text, message::text FROM message_store ORDER BY session_id, id");
            while (rows.next()) {
                long id = rows.getLong(1);
                String session = rows.getString(2);
                Instant at = timed ? utc(rows, 4) : null;
                if (session != null && !session.equals(lastSession)) {
                    lastSession = session;
                    earliest = at;
                    start = null;
                    position = 0;
                }
                position++; // bad rows too: a first run leaves a rejected row's place empty, as a run before V40 did
                try {
                    JsonNode message = langchainMessage(session, timed, at, rows.getString(3));
                    String conversation = "langchain:" + session;
                    if (start == null) {
                        if (timed) {
                            start = earliest.minusMillis(1);
                        } else {
                            before = imported.apply(conversation).orElse(null);
                            start = before != null ? before.start() : now.truncatedTo(ChronoUnit.MILLIS);
                            last = before != null && !before.byKey().isEmpty() ? before.newest() : start;
                        }
                        emit.line(line("type", "user", "external_id", conversation));
                        emit.line(line("type", "conversation", "external_id", conversation, "user", conversation,
                                "character", "langchain", "created_at", start.toString()));
                    }
                    String externalId = "langchain:" + id;
                    if (!timed) {
                        at = untimed(before, Import.messageKey(conversation, externalId), start.plusMillis(position), last);
                        last = at.isAfter(last) ? at : last;
                    }
                    emit.line(message(conversation, externalId, langchainRole(message),
                            langchainText(message.path("data")), at).toString());
                } catch (BadRow bad) {
                    emit.rejected("message_store row " + id + ": " + bad.getMessage());
                }
            }
        }
    }

    /**
     * An untimed row's time: as imported before, else at its place if that is after the row before's ({@code last}: its
     * conversation's newest message if imported with keys), else a millisecond after it. By places alone, a row deleted
     * from the store moved the rows after it a millisecond earlier, and a run again took them for new ones, older than
     * the conversation's newest.
     */
    private static Instant untimed(Imported before, long key, Instant place, Instant last) {
        Instant stored = before == null ? null : before.byKey().get(key);
        if (stored != null) {
            return stored;
        }
        return place.isAfter(last) ? place : last.plusMillis(1);
    }

    /** A message_store row's message, or why the row cannot be one. */
    private static JsonNode langchainMessage(String session, boolean timed, Instant at, String json) throws BadRow {
        required(session, "session_id");
        if (timed) {
            required(at, "created_at");
        }
        JsonNode message;
        try {
            message = Json.MAPPER.readTree(required(json, "message"));
        } catch (JsonProcessingException e) {
            throw new BadRow("message is not JSON: " + Check.withoutJavaNames(e.getOriginalMessage()));
        }
        if (!message.path("type").isTextual() || !message.path("data").isObject()) {
            throw new BadRow("message is not a LangChain message, {\"type\": …, \"data\": {\"content\": …}}");
        }
        return message;
    }

    /**
     * A LangChain message's text; an AI message with no text, only tool calls ({@code data.tool_calls}), keeps them as
     * JSON text, as a list of content parts with no text part is kept.
     */
    private static String langchainText(JsonNode data) throws BadRow {
        JsonNode content = data.path("content");
        JsonNode toolCalls = data.path("tool_calls");
        boolean calls = toolCalls.isArray() && !toolCalls.isEmpty();
        if (!content.isTextual() && !content.isArray() && !calls) {
            throw new BadRow("message's data.content is " + (content.isMissingNode() ? "missing" : content.isNull() ? "null"
                    : "no text nor list of content parts"));
        }
        String text = content.isTextual() || content.isArray() ? text(content) : "";
        return text.isBlank() && calls ? toolCalls.toString() : text;
    }

    /** The role of a LangChain message's type (a chunk's as its message's), or why it has none in Parley. */
    private static String langchainRole(JsonNode message) throws BadRow {
        String type = message.path("type").asText();
        return switch (type.endsWith("MessageChunk") ? type.substring(0, type.length() - "MessageChunk".length()) : type) {
            case "human", "Human" -> "user";
            case "ai", "AI" -> "assistant";
            case "system", "System" -> "system";
            case "tool", "Tool", "function", "Function" -> "tool";
            case "chat", "Chat" -> { // a ChatMessage names its role
                String role = message.path("data").path("role").asText();
                String mapped = switch (role) {
                    case "human" -> "user";
                    case "ai" -> "assistant";
                    case "function" -> "tool";
                    default -> role;
                };
                if (!ROLES.contains(mapped)) {
                    throw new BadRow("a chat message's data.role " + role + " is none of " + String.join(", ", ROLES)
                            + " (or human, ai, function)");
                }
                yield mapped;
            }
            default -> throw new BadRow("message type " + type + " is not one LangChain writes (human, ai, system, tool, "
                    + "function, chat, or their chunks)");
        };
    }

    /** Parley's roles, which Mastra's and a LangChain chat message's role must be one of. */
    private static final List<String> ROLES = List.of("user", "assistant", "system", "tool");

    // A thread's conversation begins at its createdAt, or just before its first message where that is earlier (the
    // two are written by the app, with its clock): every message keeps its own time, after its conversation began.
    private static final String THREAD_START = "least(t.\"createdAt\", f.first - interval '1 millisecond')";
    private static final String FIRST_MESSAGES = """
            LEFT JOIN (SELECT thread_id, min("createdAt") AS first FROM mastra_messages GROUP BY thread_id) f
                   ON f.thread_id = t.id""";

    private static void mastra(Connection sql, Output emit) throws SQLException {
        emit.line(character("mastra"));
        try (var statement = sql.createStatement()) {
            ResultSet resources = statement.executeQuery("""
                    SELECT id FROM mastra_resources
                    UNION SELECT "resourceId" FROM mastra_threads WHERE "resourceId" IS NOT NULL ORDER BY 1""");
            while (resources.next()) {
                emit.line(line("type", "user", "external_id", "mastra:" + resources.getString(1)));
            }
            Set<String> rejectedThreads = new HashSet<>();
            ResultSet threads = statement.executeQuery("""
                    SELECT t.id, t."resourceId", t.title, t."createdAt", %s
                      FROM mastra_threads t %s ORDER BY t."createdAt", t.id""".formatted(THREAD_START, FIRST_MESSAGES));
            while (threads.next()) {
                try {
                    emit.line(mastraThread(threads).toString());
                } catch (BadRow bad) {
                    rejectedThreads.add(threads.getString(1));
                    emit.rejected("mastra_threads row " + threads.getString(1) + ": " + bad.getMessage());
                }
            }
            statement.setFetchSize(5_000);
            ResultSet messages = statement.executeQuery("""
                    SELECT m.id, m.thread_id, m.role, m.content, m."createdAt", t.id
                      FROM mastra_messages m LEFT JOIN mastra_threads t ON t.id = m.thread_id
                     ORDER BY m.thread_id, m."createdAt", m.id""");
            while (messages.next()) {
                try {
                    emit.line(mastraMessage(messages, rejectedThreads).toString());
                } catch (BadRow bad) {
                    emit.rejected("mastra_messages row " + messages.getString(1) + ": " + bad.getMessage());
                }
            }
        }
    }

    private static ObjectNode mastraThread(ResultSet thread) throws SQLException, BadRow {
        String resource = required(thread.getString(2), "resourceId"); // else every such thread would be one user's, mastra:null
        required(utc(thread, 4), "createdAt");
        Instant created = utc(thread, 5);
        ObjectNode line = (ObjectNode) Json.parse(line("type", "conversation", "external_id", "mastra:" + thread.getString(1),
                "user", "mastra:" + resource, "character", "mastra", "created_at", created.toString()));
        if (thread.getString(3) != null && !thread.getString(3).isBlank()) {
            line.put("title", thread.getString(3));
        }
        return line;
    }

    private static ObjectNode mastraMessage(ResultSet message, Set<String> rejectedThreads) throws SQLException, BadRow {
        String thread = required(message.getString(2), "thread_id");
        if (message.getString(6) == null) { // a LEFT JOIN, so that such a message is rejected, not passed over unseen
            throw new BadRow("thread_id " + thread + " has no row in mastra_threads");
        }
        if (rejectedThreads.contains(thread)) {
            throw new BadRow("its thread " + thread + " was rejected");
        }
        String role = required(message.getString(3), "role");
        if (!ROLES.contains(role)) {
            throw new BadRow("role " + role + " is not one of " + String.join(", ", ROLES));
        }
        Instant at = required(utc(message, 5), "createdAt");
        return message("mastra:" + thread, "mastra:" + message.getString(1), role, mastraText(message.getString(4)), at);
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
            if (json.has("parts")) { // a v2 message: its text parts, else its content string, else the parts as JSON
                String parts = textParts(json.get("parts"));
                String string = json.path("content").isTextual() ? json.get("content").asText() : "";
                return parts != null ? parts : !string.isEmpty() ? string : json.get("parts").toString();
            }
            return json.has("content") ? text(json.get("content")) : content;
        } catch (RuntimeException notJson) {
            return content;
        }
    }

    /**
     * Text from a string, or from the text parts of a list of content parts ({"type": "text", "text": …}); a list with
     * no text part is kept as JSON text.
     */
    private static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        String parts = textParts(content);
        return parts == null ? content.toString() : parts;
    }

    /** The text parts of a list of content parts, a line each; null when it has none. */
    private static String textParts(JsonNode parts) {
        StringBuilder text = new StringBuilder();
        parts.forEach(part -> {
            if (part.isTextual() || part.path("type").asText().equals("text")) {
                text.append(text.isEmpty() ? "" : "\n").append(part.isTextual() ? part.asText() : part.path("text").asText());
            }
        });
        return text.isEmpty() ? null : text.toString();
    }

    private static String character(String store) {
        return line("type", "character", "external_id", store, "name", "assistant",
                "system_prompt", "Imported from " + store + ".");
    }

    private static ObjectNode message(String conversation, String externalId, String role, String content, Instant at) {
        ObjectNode message = Json.MAPPER.createObjectNode();
        message.put("type", "message").put("conversation", conversation).put("external_id", externalId).put("role", role)
                .put("content", content).put("created_at", at.toString());
        return message;
    }

    /** A time column as an instant, or null: a {@code timestamp} without zone (as Mastra's are) is read as UTC. */
    private static Instant utc(ResultSet rows, int column) throws SQLException {
        Timestamp timestamp = rows.getTimestamp(column, Calendar.getInstance(TimeZone.getTimeZone("UTC")));
        return timestamp == null ? null : timestamp.toInstant();
    }

    private static <T> T required(T value, String column) throws BadRow {
        if (value == null) {
            throw new BadRow(column + " is NULL");
        }
        return value;
    }

    private static String line(String... pairs) {
        ObjectNode line = Json.MAPPER.createObjectNode();
        for (int i = 0; i < pairs.length; i += 2) {
            line.put(pairs[i], pairs[i + 1]);
        }
        return line.toString();
    }
}
