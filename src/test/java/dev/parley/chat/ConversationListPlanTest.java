package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.PlanData;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN of each conversation list filter and of the character batch fetch, over 20,000 characters
 * and 20,000 conversations (one in ten a group chat of three characters) of 2,000 users, ANALYZEd:
 * each filter is served by its index (V3, V12), and none reads the table whole.
 */
class ConversationListPlanTest {
    private static final String DB = "parley_list_plans";
    private static final long APP = 1;
    private static final int CONVERSATIONS = 20_000;
    private static final int PAGE = 21;

    private static Connection connection;
    private static Plans plans;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('plans'), ('neighbour')");
            s.execute("INSERT INTO characters (app_id, name) SELECT 1, 'character ' || g FROM generate_series(1, 20000) g");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 2000) g");
            // Ids grow with time like real ones; activity moved on for one in three. Nearly all are open, a
            // tenth closed, twenty escalated; fifteen have a "vip" key; half carry a chat id of the app's own.
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, is_group, activity_id,
                                               created_at, last_activity_at, updated_at, state, external_id)
                    SELECT 1, id, 1 + g %% 2000, 1 + g %% 20000, g %% 10 = 0,
                           CASE WHEN g %% 3 = 0 THEN id + 1000000000 ELSE id END, now(), now(), now(),
                           jsonb_build_object('status', CASE WHEN g %% 1000 = 0 THEN 'escalated'
                                                             WHEN g %% 10 = 1 THEN 'closed' ELSE 'open' END,
                                              'step', g %% 7)
                               || CASE WHEN g %% 1333 = 0 THEN '{"vip": true}'::jsonb ELSE '{}' END,
                           CASE WHEN g %% 2 = 0 THEN 'tg:' || g END
                      FROM generate_series(1, %d) g, LATERAL (SELECT g::bigint << 22 AS id) i""".formatted(CONVERSATIONS));
            s.execute("""
                    INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id)
                    SELECT app_id, conversation_id, 'user', user_id FROM conversations
                    UNION ALL
                    SELECT app_id, conversation_id, 'character', character_id FROM conversations
                    UNION ALL
                    SELECT app_id, conversation_id, 'character', 1 + (character_id + k * 7919) % 20000
                      FROM conversations, generate_series(1, 2) k WHERE is_group""");
            PlanData.spillDeletedSeqs(s);
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void the_app_wide_list_walks_the_activity_index_backward_and_stops_at_the_page() throws SQLException {
        String plan = explain(new ConversationFilter(null, null, null, null, null));

        assertThat(plan).contains("Index Scan Backward using conversations_activity_idx").doesNotContain("Seq Scan")
                .as("in index order: only a row's own character_ids are sorted").doesNotContain("Sort Key: c.activity_id");
    }

    @Test
    void a_users_list_walks_the_inbox_index_and_the_guest_index() throws SQLException {
        String plan = explain(new ConversationFilter(42L, null, null, null, null));

        assertThat(plan).contains("conversations_inbox_idx").contains("conversation_members_guest_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_users_stats_read_their_conversations_and_their_groups_each_through_its_index() throws SQLException {
        String plan = plans.explain(Stats.USER, APP, 42L);

        assertThat(plan).contains("conversations_inbox_idx").contains("conversation_members_guest_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_member_characters_list_finds_its_conversations_through_the_membership_index() throws SQLException {
        long groupMember = 1 + (1 + 10 + 7919) % 20000; // the second character of the group chat g = 10
        String plan = explain(new ConversationFilter(null, groupMember, null, null, null));

        assertThat(plan).contains("conversation_members_member_idx").doesNotContain("Seq Scan");
        assertThat(plan).as("the group chat it does not lead is found").containsPattern("rows=[1-9]");
    }

    @Test
    void a_selective_state_filter_and_a_rare_key_use_the_state_gin_index() throws SQLException {
        String containment = explain(new ConversationFilter(null, null, json("{\"status\":\"escalated\"}"), null, null));
        String key = explain(new ConversationFilter(null, null, null, "vip", null));

        assertThat(containment).contains("Bitmap Index Scan on conversations_state_idx").doesNotContain("Seq Scan");
        assertThat(key).contains("Bitmap Index Scan on conversations_state_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_common_state_filter_walks_by_activity_and_stops_at_the_page() throws SQLException {
        String plan = explain(new ConversationFilter(null, null, json("{\"status\":\"open\"}"), null, null));

        assertThat(plan).containsAnyOf("conversations_activity_idx", "conversations_state_idx").doesNotContain("Seq Scan");
    }

    @Test
    void an_external_chat_id_is_one_unique_index_lookup() throws SQLException {
        String plan = explain(new ConversationFilter(null, null, null, null, "tg:5000"));

        assertThat(plan).contains("conversations_external_id_key").doesNotContain("Seq Scan");
    }

    @Test
    void a_character_batch_is_a_primary_key_lookup() throws SQLException {
        var ids = connection.createArrayOf("bigint", new Long[] {3L, 17L, 9_999L, 123_456L});

        String plan = plans.explain(Characters.LIST_BY_IDS, APP, ids);

        assertThat(plan).contains("characters_pkey").doesNotContain("Seq Scan");
    }

    private static String explain(ConversationFilter filter) throws SQLException {
        ConversationFilter.Statement statement = filter.statement(APP, ConversationFilter.Position.START, PAGE);
        return plans.explain(statement.query(), statement.arguments());
    }

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }
}
