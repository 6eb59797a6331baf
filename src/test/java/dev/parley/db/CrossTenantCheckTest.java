package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** The heuristic DistributionRulesTest reads every statement with, on statements small enough to judge by eye. */
class CrossTenantCheckTest {
    private final Set<String> tables = Set.of("conversations", "messages", "users");

    @Test
    void a_join_without_app_id_a_scan_of_every_app_and_a_subquery_without_its_own_app_id_are_refused() {
        assertThat(CrossTenantCheck.problem("""
                SELECT m.content FROM conversations c JOIN messages m ON m.conversation_id = c.conversation_id
                 WHERE c.app_id = ? AND c.user_id = ?""", tables)).isPresent();
        assertThat(CrossTenantCheck.problem("SELECT count(*) FROM messages WHERE role = 'user'", tables)).isPresent();
        assertThat(CrossTenantCheck.problem("DELETE FROM messages WHERE created_at < ?", tables)).isPresent();
        assertThat(CrossTenantCheck.problem("""
                SELECT u.user_id FROM users u, conversations c WHERE u.app_id = ? AND c.user_id = u.user_id""", tables))
                .isPresent();
        assertThat(CrossTenantCheck.problem("""
                SELECT * FROM conversations WHERE app_id = ?
                   AND user_id IN (SELECT user_id FROM users WHERE external_id = ?)""", tables)).isPresent();
        assertThat(CrossTenantCheck.problem("TRUNCATE messages", tables)).isPresent();
        assertThat(CrossTenantCheck.problem("""
                WITH recent AS MATERIALIZED (SELECT * FROM messages WHERE message_id > ?)
                SELECT * FROM recent WHERE app_id = ? AND conversation_id = ?""", tables))
                .as("a subquery that leaves app_id to the query around it").isPresent();
    }

    @Test
    void statements_that_keep_to_one_app_are_accepted() {
        assertThat(CrossTenantCheck.problem("""
                /* inbox.page */ SELECT m.content FROM conversations c
                  JOIN messages m ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                 WHERE c.app_id = ? AND c.user_id = ? -- FROM users
                   AND c.title <> 'FROM messages'""", tables)).isEmpty();
        assertThat(CrossTenantCheck.problem("""
                WITH asked AS (SELECT app_id, conversation_id FROM conversations WHERE app_id = ANY(?))
                SELECT * FROM messages JOIN asked USING (app_id, conversation_id)""", tables)).isEmpty();
        assertThat(CrossTenantCheck.problem("""
                INSERT INTO users (app_id, external_id) VALUES (?, ?)
                ON CONFLICT (app_id, external_id) DO UPDATE SET profile = excluded.profile""", tables)).isEmpty();
        assertThat(CrossTenantCheck.problem("""
                UPDATE conversations c SET title = ? FROM unnest(?::bigint[], ?::bigint[]) AS k(app_id, conversation_id)
                 WHERE (c.app_id, c.conversation_id) = (k.app_id, k.conversation_id)""", tables)).isEmpty();
        assertThat(CrossTenantCheck.problem("SELECT extract(epoch FROM now()), relname FROM pg_class", tables)).isEmpty();
        assertThat(CrossTenantCheck.problem("ALTER TABLE messages ADD COLUMN x int", tables)).isEmpty();
    }
}
