package dev.parley.chat;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.json.Json;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts. Per conversation and per user they are exact and cheap: the conversation row keeps its
 * message count in the same transaction as every append and delete. Per app they are estimates, as
 * dashboards want them: the planner's row estimate for the app, which it derives from
 * {@code pg_class.reltuples} and the column statistics, costs microseconds where COUNT(*) would scan.
 */
public final class Stats {
    static final Query CONVERSATION = new Query("stats.conversation", """
            SELECT c.message_count, c.last_seq, c.last_seq - coalesce(m.read_seq, 0) AS unread_count
              FROM conversations c
              LEFT JOIN conversation_members m
                ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.member_kind = 'user' AND m.member_id = c.user_id
             WHERE c.app_id = ? AND c.conversation_id = ?""");

    static final Query USER = new Query("stats.user", """
            SELECT count(*) AS conversations, coalesce(sum(c.message_count), 0) AS messages,
                   coalesce(sum(c.last_seq - coalesce(m.read_seq, 0)), 0) AS unread_count
              FROM conversations c
              LEFT JOIN conversation_members m
                ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.member_kind = 'user' AND m.member_id = c.user_id
             WHERE c.app_id = ? AND c.user_id = ?""");

    private static final List<String> ESTIMATED_TABLES = List.of("characters", "users", "conversations", "messages");

    public record ConversationStats(long messageCount, long lastSeq, long unreadCount) {
    }

    public record UserStats(long conversations, long messages, long unreadCount) {
    }

    /** Estimated rows per table for one app, and how they were estimated. */
    public record AppEstimates(Map<String, Long> estimatedRows, String method) {
    }

    private final Database database;

    public Stats(Database database) {
        this.database = database;
    }

    public ConversationStats conversation(long appId, long conversationId) {
        return database.read(h -> h.first(CONVERSATION,
                        row -> new ConversationStats(row.getLong(1), row.getLong(2), row.getLong(3)), appId, conversationId))
                .orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    public UserStats user(long appId, long userId) {
        return database.read(h -> {
            UserStats stats = h.first(USER, row -> new UserStats(row.getLong(1), row.getLong(2), row.getLong(3)),
                    appId, userId).orElseThrow();
            if (stats.conversations() == 0 && h.first(Inbox.USER_EXISTS, row -> true, appId, userId).isEmpty()) {
                throw new NotFound("user", userId);
            }
            return stats;
        });
    }

    public AppEstimates estimates(long appId) {
        return database.read(h -> {
            Map<String, Long> rows = new LinkedHashMap<>();
            for (String table : ESTIMATED_TABLES) {
                rows.put(table, plannedRows(h, table, appId));
            }
            return new AppEstimates(rows, "planner estimate from pg_class.reltuples and pg_statistic; refreshed by ANALYZE");
        });
    }

    // The table name comes from the fixed list above and the app id is a long, so inlining them is safe.
    private static long plannedRows(Handle h, String table, long appId) throws SQLException {
        var plan = h.first(new Query("stats.estimate_rows",
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM " + table + " WHERE app_id = " + appId), row -> row.getString(1));
        return plan.map(json -> Json.stored(json).path(0).path("Plan").path("Plan Rows").asLong()).orElse(0L);
    }
}
