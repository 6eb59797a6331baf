package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the memory queries over 70,000 memories: 2,000 users with ten memories of each of three
 * characters, and one user with 10,000 memories of one character.
 */
class MemoryPlanTest {
    private static final String DB = "parley_memory_plans";
    private static final long APP = 1;
    private static final long USER = 42;
    private static final long CHARACTER = 2;

    private static Connection connection;
    private static Plans plans;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('memory-plans')");
            s.execute("INSERT INTO characters (app_id, name) SELECT 1, 'c' || g FROM generate_series(1, 3) g");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 2000) g");
            s.execute("""
                    INSERT INTO memories (app_id, user_id, character_id, content, embedding)
                    SELECT 1, u, c, 'fact ' || k || ' about topic' || (k * 7 + u) % 500, decode(repeat('0000803f', 64), 'hex')
                      FROM generate_series(1, 2000) u, generate_series(1, 3) c, generate_series(1, 10) k""");
            s.execute("""
                    INSERT INTO memories (app_id, user_id, character_id, content)
                    SELECT 1, 1, 1, 'note ' || k || ' on subject' || k % 2000 FROM generate_series(1, 10000) k""");
            s.execute("""
                    INSERT INTO memory_scopes (app_id, user_id, character_id, dims)
                    SELECT DISTINCT app_id, user_id, character_id, 64 FROM memories""");
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void the_vectors_of_one_scope_are_read_through_the_scope_index() throws SQLException {
        String plan = plans.explain(Recall.LOAD_SCOPE, APP, USER, CHARACTER);

        assertThat(plan).contains("memories_scope_idx").doesNotContain("Seq Scan");
    }

    @Test
    void the_scope_version_is_one_primary_key_lookup() throws SQLException {
        String plan = plans.explain(Recall.SCOPE, APP, USER, CHARACTER);

        assertThat(plan).contains("Index Scan using memory_scopes_pkey");
    }

    @Test
    void a_page_of_memories_walks_the_scope_index_backwards() throws SQLException {
        String plan = plans.explain(Memories.LIST, APP, USER, CHARACTER, Long.MAX_VALUE, 20);

        assertThat(plan).contains("Index Scan Backward using memories_scope_idx").doesNotContain("Sort");
    }

    @Test
    void a_word_search_in_a_large_scope_reads_the_words_index() throws SQLException {
        String plan = plans.explain(Memories.SEARCH, "english", "subject17", "english", "subject17", "english", "subject17",
                "'~u:1'", "english", "subject17", 20);

        assertThat(plan).contains("Bitmap Index Scan on memories_search_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_word_search_in_a_small_scope_reads_the_words_index_too() throws SQLException {
        String plan = plans.explain(Memories.SEARCH, "english", "topic17", "english", "topic17", "english", "topic17",
                "'~u:42'", "english", "topic17", 20);

        assertThat(plan).contains("memories_search_idx").doesNotContain("Seq Scan");
    }
}
