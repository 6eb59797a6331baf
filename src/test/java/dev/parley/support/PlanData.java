package dev.parley.support;

import java.sql.SQLException;
import java.sql.Statement;

/** What the plan tests' datasets, written straight into the tables, need to look as the API leaves them. */
public final class PlanData {
    private PlanData() {
    }

    /**
     * As appends leave them: each conversation counts its messages and points at its last one, which
     * bounds its history pages and its user's search windows.
     */
    public static void pointConversationsAtTheirLastMessages(Statement s) throws SQLException {
        s.execute("""
                UPDATE conversations c
                   SET last_seq = m.n, message_count = m.n, last_message_id = m.last, activity_id = m.last,
                       last_activity_at = parley_id_time(m.last)
                  FROM (SELECT conversation_id, count(*) AS n, max(message_id) AS last FROM messages GROUP BY 1) m
                 WHERE c.conversation_id = m.conversation_id""");
    }

    /**
     * As deletes leave a few long conversations: more than 1,000 of their messages deleted, the older ones moved out
     * of the row into conversation_deleted_seqs (V28), so that the planner knows that table by its statistics.
     */
    public static void spillDeletedSeqs(Statement s) throws SQLException {
        s.execute("""
                UPDATE conversations c SET deleted_seqs = parley_deleted_seqs(c.deleted_seqs, ARRAY(SELECT generate_series(1, 2000)::bigint))
                 WHERE c.conversation_id IN (SELECT conversation_id FROM conversations ORDER BY conversation_id DESC LIMIT 20)""");
    }
}
