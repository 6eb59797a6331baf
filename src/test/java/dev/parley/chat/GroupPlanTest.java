package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.PlanData;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the group-chat queries over a realistic dataset: 3,000 users, 23,000 conversations
 * (one heavy user owns 10,000 of them), 3,000 of them groups with four guests each (15,000 guest
 * memberships; user 42 is a guest in 40 groups), ANALYZEd. A guest's inbox must stay two index
 * scans, and a user with thousands of conversations of their own must not pay for the guest branch.
 */
class GroupPlanTest {
    private static final String DB = "parley_group_plans";
    private static final long APP = 1;
    private static final long HEAVY_USER = 1;
    private static final long GUEST = 42;

    private static Connection connection;
    private static Plans plans;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('group-plans')");
            s.execute("""
                    INSERT INTO characters (app_id, name, metadata)
                    SELECT 1, 'bot ' || g, jsonb_build_object('avatar_url', 'https://cdn.example/' || g || '.png')
                      FROM generate_series(1, 20000) g""");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 3000) g");
            // Ids are time-ordered over the last year; the heavy user owns the first 10,000.
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, is_group, activity_id,
                                               created_at, last_activity_at, updated_at, last_seq, message_count)
                    SELECT 1, id, CASE WHEN g <= 10000 THEN 1 ELSE 2 + g % 2999 END, 1 + g % 20000, g > 20000, id,
                           parley_id_time(id), parley_id_time(id), now(), g % 50, g % 50
                      FROM generate_series(1, 23000) g,
                           LATERAL (SELECT (((extract(epoch FROM now() - interval '1 year' + g * interval '1 year' / 23000)
                                              * 1000)::bigint - 946684800000) << 22) | g AS id) i""");
            s.execute("""
                    INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id)
                    SELECT app_id, conversation_id, 'user', user_id FROM conversations
                    UNION ALL
                    SELECT app_id, conversation_id, 'character', character_id FROM conversations""");
            // Four guests in each group: user 42 in every 75th group, the others spread over everyone.
            s.execute("""
                    INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id, guest, read_seq)
                    SELECT c.app_id, c.conversation_id, 'user', guest, true, c.last_seq / 2
                      FROM conversations c,
                           LATERAL (SELECT DISTINCT CASE WHEN k = 1 AND (c.conversation_id & 4194303) % 75 = 0 THEN 42
                                                         ELSE 100 + ((c.conversation_id & 4194303) * 7 + k * 131) % 2900
                                                     END AS guest
                                      FROM generate_series(1, 4) k) g
                     WHERE c.is_group AND g.guest <> c.user_id
                    ON CONFLICT DO NOTHING""");
            PlanData.spillDeletedSeqs(s);
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void the_dataset_has_the_guest_it_is_meant_to_have() throws SQLException {
        try (var s = connection.createStatement();
             var rows = s.executeQuery("SELECT count(*) FROM conversation_members WHERE member_id = 42 AND guest")) {
            rows.next();
            assertThat(rows.getLong(1)).isBetween(30L, 50L);
        }
    }

    @Test
    void a_guests_inbox_is_two_index_scans_and_never_touches_messages() throws SQLException {
        String plan = plans.explain(Inbox.PAGE, APP, GUEST, Long.MAX_VALUE, Long.MAX_VALUE, 20);

        assertThat(plan).contains("conversations_inbox_idx").contains("conversation_members_guest_idx")
                .doesNotContain("Seq Scan").doesNotContain("messages");
    }

    @Test
    void a_guests_inbox_stays_index_driven_as_a_generic_plan() throws SQLException {
        String plan = plans.explainGeneric(Inbox.PAGE, APP, GUEST, Long.MAX_VALUE, Long.MAX_VALUE, 20);

        assertThat(plan).contains("conversations_inbox_idx").contains("conversation_members_guest_idx")
                .doesNotContain("Seq Scan");
    }

    @Test
    void a_user_with_ten_thousand_conversations_reads_one_page_of_them() throws SQLException {
        String plan = plans.explain(Inbox.PAGE, APP, HEAVY_USER, Long.MAX_VALUE, Long.MAX_VALUE, 20);

        assertThat(plan).contains("Index Scan Backward using conversations_inbox_idx on conversations c (actual rows=20 loops=1)")
                .contains("conversation_members_guest_idx on conversation_members g (actual rows=0 loops=1)")
                .as("their read markers: one probe for each conversation listed, not all 10,000 of their memberships")
                .contains("on conversation_members me (actual rows=1 loops=20)").doesNotContain("Materialize")
                .doesNotContain("Seq Scan");
    }

    @Test
    void a_members_list_reads_the_conversations_members_by_primary_key() throws SQLException {
        long group = firstGroup();
        String plan = plans.explain(Members.LIST, APP, group);

        assertThat(plan).contains("conversation_members_pkey").doesNotContain("Seq Scan");
    }

    @Test
    void an_append_finds_a_groups_guests_by_primary_key() throws SQLException {
        long group = firstGroup();
        String plan = plans.explainGeneric(BatchWriter.LOCK_CONVERSATIONS,
                connection.createArrayOf("bigint", new Long[] {APP}), connection.createArrayOf("bigint", new Long[] {group}));

        assertThat(plan).contains("conversation_members_pkey").doesNotContain("Seq Scan");
    }

    private static long firstGroup() throws SQLException {
        try (var s = connection.createStatement();
             var rows = s.executeQuery("SELECT min(conversation_id) FROM conversations WHERE is_group")) {
            rows.next();
            return rows.getLong(1);
        }
    }
}
