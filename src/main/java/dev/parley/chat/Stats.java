package dev.parley.chat;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.json.Json;
import java.sql.SQLException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts. Per conversation and per user they are exact and cheap: the conversation row keeps its
 * message count in the same transaction as every append and delete. Per app they are estimates, as
 * dashboards want them: the planner's row estimate for the app, which it derives from
 * {@code pg_class.reltuples} and the column statistics, costs microseconds where COUNT(*) would scan
 * millions of rows. Below {@value #EXACT_BELOW} rows the estimate is replaced by an exact count,
 * which is then cheap and spares small apps the estimate's noise.
 */
public final class Stats {
    static final Query CONVERSATION = new Query("stats.conversation", """
            SELECT c.message_count, c.last_seq, %s AS unread_count
              FROM conversations c
              LEFT JOIN conversation_members m
                ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.member_kind = 'user' AND m.member_id = c.user_id
             WHERE c.app_id = ? AND c.conversation_id = ?""".formatted(ReadMarkers.unreadCount("c", "coalesce(m.read_seq, 0)")));

    // What ReadMarkers.unreadCount reads of a conversation row.
    private static final String UNREAD_COLUMNS = """
            c.app_id, c.conversation_id, c.message_count, c.last_seq, c.deleted_seqs, c.expired_seq, c.spilled_seq""";

    /** A user's conversations are those they started and the groups they joined as a guest, as in their inbox. */
    static final Query USER = new Query("stats.user", """
            WITH who AS (SELECT ?::bigint AS app_id, ?::bigint AS user_id),
                 theirs AS (SELECT %1$s FROM conversations c
                             WHERE c.app_id = (SELECT app_id FROM who) AND c.user_id = (SELECT user_id FROM who)
                            UNION ALL
                            SELECT %1$s FROM conversation_members g
                              JOIN conversations c ON c.app_id = g.app_id AND c.conversation_id = g.conversation_id
                             WHERE g.app_id = (SELECT app_id FROM who) AND g.member_id = (SELECT user_id FROM who)
                               AND g.member_kind = 'user' AND g.guest)
            SELECT count(*) AS conversations, coalesce(sum(t.message_count), 0) AS messages,
                   coalesce(sum(%2$s), 0) AS unread_count
              FROM theirs t
              LEFT JOIN conversation_members m
                ON m.app_id = (SELECT app_id FROM who) AND m.conversation_id = t.conversation_id
               AND m.member_kind = 'user' AND m.member_id = (SELECT user_id FROM who)""".formatted(
            UNREAD_COLUMNS, ReadMarkers.unreadCount("t", "coalesce(m.read_seq, 0)")));

    static final long EXACT_BELOW = 10_000;
    private static final List<String> COUNTED_TABLES = List.of("characters", "users", "conversations", "messages");

    public record ConversationStats(long messageCount, long lastSeq, long unreadCount) {
    }

    public record UserStats(long conversations, long messages, long unreadCount) {
    }

    /** Rows of one table for one app; {@code exact} says whether it was counted or estimated. */
    public record Count(long rows, boolean exact) {
    }

    /**
     * Rows per table for one app, and its messages month by month: where the month is ("hot", or "archive"
     * once moved there), how many messages the app has in it, and about how many bytes they take (the
     * month's bytes with indexes, times the app's rows over the month's rows of every app).
     */
    public record AppCounts(Map<String, Count> tables, List<Month> months) {
    }

    /** One month of an app's messages: "2026-11", where it is, its rows, its bytes (estimated). */
    public record Month(String month, String store, Count messages, long bytes) {
    }

    private final Database database;

    public Stats(Database database) {
        this.database = database;
    }

    /** A conversation's totals, read through {@code handle}: with its counts by kind, from the one server (WindowCounts). */
    static ConversationStats conversation(Handle handle, long appId, long conversationId) throws SQLException {
        return handle.first(CONVERSATION, row -> new ConversationStats(row.getLong(1), row.getLong(2), row.getLong(3)), appId,
                conversationId).orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    public UserStats user(long appId, long userId) {
        return database.readNearby(handle -> {
            UserStats stats = handle.first(USER, row -> new UserStats(row.getLong(1), row.getLong(2), row.getLong(3)),
                    appId, userId).orElseThrow();
            if (stats.conversations() == 0) {
                Users.require(handle, appId, userId);
            }
            return stats;
        });
    }

    public AppCounts appCounts(long appId) {
        return database.readNearby(handle -> {
            Map<String, Count> tables = new LinkedHashMap<>();
            for (String table : COUNTED_TABLES) {
                tables.put(table, rows(handle, table, appId));
            }
            return new AppCounts(tables, months(handle, appId));
        });
    }

    private static List<Month> months(Handle handle, long appId) throws SQLException {
        List<Month> months = new ArrayList<>();
        for (String store : List.of("archive", "hot")) {
            String schema = store.equals("hot") ? "" : Partitions.ARCHIVE.substring(0, Partitions.ARCHIVE.indexOf('.') + 1);
            List<Partitions.Partition> partitions = store.equals("hot") ? Partitions.list(handle, "messages")
                    : Partitions.list(handle, Partitions.ARCHIVE);
            for (Partitions.Partition p : partitions) {
                if (p.isCatchAll()) {
                    continue;
                }
                String table = schema + p.name();
                Count rows = rows(handle, table, appId);
                if (rows.rows() > 0) {
                    // The share is the app's rows over the month's, both taken now: pg_class's reltuples alone is -1
                    // (read as 0) until the month is first analysed and lags its writes after, which gave an app
                    // the whole month's bytes, other apps' included.
                    long all = Math.max(rows.rows(), rows(handle, table, null).rows());
                    long bytes = (long) ((double) p.bytes() * rows.rows() / all);
                    months.add(new Month(YearMonth.from(Ids.timeOf(p.fromId()).atZone(ZoneOffset.UTC)).toString(), store, rows, bytes));
                }
            }
        }
        return months;
    }

    /**
     * The rows of {@code table}, the app's ({@code appId}) or every app's (null): the planner's estimate, which scales the
     * last analysis to the table's pages now (or, for a table never analysed, reckons from its pages alone); below
     * {@value #EXACT_BELOW} an exact count instead, which reads at most ten times that and, if the statistics were so
     * stale that the table is larger still, stops there and says it is not exact. Table names come from the fixed list
     * above or the catalogue, and the app id is a long: inlining them is safe.
     */
    private static Count rows(Handle handle, String table, Long appId) throws SQLException {
        String from = " FROM " + table + (appId == null ? "" : " WHERE app_id = " + appId);
        long estimate = handle.first(new Query("stats.estimate_rows", "EXPLAIN (FORMAT JSON) SELECT 1" + from),
                row -> Json.parse(row.getString(1)).path(0).path("Plan").path("Plan Rows").asLong()).orElse(0L);
        if (estimate >= EXACT_BELOW) {
            return new Count(estimate, false);
        }
        long cap = EXACT_BELOW * 10;
        long counted = handle.first(new Query("stats.count_small", "SELECT count(*) FROM (SELECT 1" + from + " LIMIT " + cap + ") t"),
                row -> row.getLong(1)).orElse(0L);
        return new Count(counted, counted < cap);
    }
}
