package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the memory queries over 70,000 memories: 2,000 users with ten memories of each of three
 * characters, and one user with 10,000 memories of one character (importance spread over 0-1, one
 * in 200 of type "preference", recorded an hour apart).
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
                    INSERT INTO memories (app_id, user_id, character_id, content, importance, metadata, created_at)
                    SELECT 1, 1, 1, 'note ' || k || ' on subject' || k % 2000, (k % 101) / 100.0,
                           jsonb_build_object('type', CASE WHEN k % 200 = 0 THEN 'preference' ELSE 'fact' END, 'n', k),
                           now() - k * interval '1 hour'
                      FROM generate_series(1, 10000) k""");
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
    void after_a_write_the_scopes_row_versions_come_through_the_scope_index_and_the_changed_rows_by_primary_key()
            throws SQLException {
        String rows = plans.explain(Recall.SCOPE_ROWS, APP, USER, CHARACTER);
        String changed = plans.explainGeneric(Recall.LOAD_ROWS, APP, "{1,2,3}");

        assertThat(rows).as(rows).contains("memories_scope_idx").doesNotContain("Seq Scan");
        assertThat(changed).as(changed).contains("Index Scan using memories_pkey");
    }

    @Test
    void after_a_write_the_memories_written_since_come_through_the_scope_version_index() throws SQLException {
        // The scope of 10,000 memories (user 1, character 1), on a generic plan: the version is known only at run time.
        String plan = plans.explainGeneric(Recall.CHANGED_SINCE, 5L, APP, 1L, 1L);

        assertThat(plan).as(plan).contains("memories_scope_version_idx").contains("memory_scopes_pkey")
                .doesNotContain("Seq Scan");
    }

    @Test
    void the_scope_version_is_one_primary_key_lookup() throws SQLException {
        String plan = plans.explain(Recall.SCOPE, APP, USER, CHARACTER);

        assertThat(plan).contains("Index Scan using memory_scopes_pkey");
    }

    @Test
    void several_scope_versions_are_primary_key_lookups_on_a_generic_plan_too() throws SQLException {
        String people = plans.explainGeneric(Recall.SCOPES, APP, "{" + USER + "," + (USER + 1) + "}", "{" + CHARACTER + "}");
        String characters = plans.explainGeneric(Recall.SCOPES, APP, "{" + USER + "}", "{" + CHARACTER + "," + (CHARACTER + 1) + "}");

        assertThat(people).as(people).contains("Index Scan using memory_scopes_pkey").doesNotContain("Seq Scan");
        assertThat(characters).as(characters).contains("Index Scan using memory_scopes_pkey").doesNotContain("Seq Scan");
    }

    @Test
    void recalled_memories_are_read_on_a_generic_plan_once_a_session_has_settled() throws SQLException {
        float[] query = new float[64];
        Arrays.fill(query, 0.125f);
        List<long[]> statements;
        try (Database oneSession = TestDatabase.pool(TestDatabase.get().target(DB), 1)) {
            var recall = new Recall(oneSession, Clock.systemUTC(), 1 << 20, new SimpleMeterRegistry());
            // pgjdbc prepares a statement on the server from its fifth use, and PostgreSQL plans the first five
            // executions of a prepared statement for their values before it weighs the generic plan.
            for (int i = 0; i < 16; i++) {
                assertThat(recall.recall(APP, USER, CHARACTER, RecallRequest.of(query, 3), "embedding").memories()).hasSize(3);
            }
            statements = oneSession.read(handle -> handle.list(new Query("test.prepared", """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%memory.get_many %'"""),
                    row -> new long[] {row.getLong(1), row.getLong(2)}));
        }
        String generic = plans.explainGeneric(Recall.GET_MANY, APP, "{1,2,3}");

        assertThat(statements).hasSize(1).allSatisfy(counts -> {
            assertThat(counts[0]).as("generic plans").isPositive();
            assertThat(counts[1]).as("custom plans: planned at every call").isLessThanOrEqualTo(5);
        });
        assertThat(generic).as(generic).contains("Index Scan using memories_pkey");
    }

    @Test
    void a_page_of_memories_walks_the_scope_index_backwards() throws SQLException {
        Memories.Bound bound = Memories.bind(APP, USER, CHARACTER, new Memories.Listing(Memories.Order.NEWEST,
                Memories.Filter.NONE, new Object[] {Long.MAX_VALUE}, null, null, 20));
        String plan = plans.explain(bound.query(), bound.args());

        assertThat(plan).contains("Index Scan Backward using memories_scope_idx").doesNotContain("Sort");
    }

    @Test
    void memories_by_importance_within_a_range_walk_the_importance_index_without_sorting() throws SQLException {
        var listing = new Memories.Listing(Memories.Order.IMPORTANCE, new Memories.Filter(null, 0.2, 0.8),
                new Object[] {0.7f, Long.MAX_VALUE}, null, null, 20);

        String plan = explain(listing);

        assertThat(plan).contains("Index Scan Backward using memories_importance_idx").doesNotContain("Sort");
        assertThat(plan).containsPattern("Index Cond: .*importance >= ");
    }

    @Test
    void the_most_recently_recorded_memories_walk_the_recent_index_without_sorting() throws SQLException {
        var listing = new Memories.Listing(Memories.Order.RECENT, Memories.Filter.NONE,
                new Object[] {java.time.OffsetDateTime.now().minusDays(1), Long.MAX_VALUE}, null, null, 20);

        assertThat(explain(listing)).contains("Index Scan Backward using memories_recent_idx").doesNotContain("Sort");
    }

    @Test
    void a_rare_metadata_value_in_a_large_scope_is_found_through_the_metadata_index() throws SQLException {
        var filter = new Memories.Filter(dev.parley.json.Json.MAPPER.createObjectNode().put("type", "preference"), null, null);

        String plan = explain(new Memories.Listing(Memories.Order.NEWEST, filter, null, null, null, 20));

        assertThat(plan).contains("memories_metadata_idx").doesNotContain("Seq Scan");
    }

    @Test
    void memories_by_relevance_to_words_read_the_words_index() throws SQLException {
        String plan = explain(new Memories.Listing(Memories.Order.RELEVANCE, Memories.Filter.NONE, null, "subject17",
                "english", 20));

        assertThat(plan).contains("memories_words_idx").doesNotContain("Seq Scan");
    }

    private static String explain(Memories.Listing listing) throws SQLException {
        Memories.Bound bound = Memories.bind(APP, 1, 1, listing);
        return plans.explain(bound.query(), bound.args());
    }

    @Test
    void a_word_search_in_a_large_scope_reads_the_words_index() throws SQLException {
        Object[] args = {"english", "subject17", "'~u:1'", APP, 1L, 20, Float.POSITIVE_INFINITY, Long.MAX_VALUE};

        assertThat(plans.explain(Memories.SEARCH, args)).contains("Bitmap Index Scan on memories_words_idx").doesNotContain("Seq Scan");
        assertThat(plans.explainGeneric(Memories.SEARCH, args)).as("the user's check by app id offers no other index")
                .contains("Bitmap Index Scan on memories_words_idx").doesNotContain("memories_scope_idx").doesNotContain("Seq Scan");
    }

    /**
     * A later page of a search, in either order, finds its matches through the words index as the first does, and
     * compares the cursor's keys on them: memory_id and created_at offer the generic plan no index (memories_pkey and
     * memories_recent_idx lead with app_id, which the statement does not compare), and no page is read by OFFSET.
     */
    @Test
    void a_later_page_of_a_word_search_reads_the_words_index_in_either_order() throws SQLException {
        Object[] byRank = {"english", "note", "'~u:1'", APP, 1L, 21, 0.1f, 65_000L};
        Object[] byCreated = {"english", "note", "'~u:1'", APP, 1L, 21, java.time.OffsetDateTime.now().minusHours(500), 65_000L};
        Object[] firstByCreated = {"english", "note", "'~u:1'", APP, 1L, 21, null, Long.MAX_VALUE};

        for (String plan : List.of(plans.explain(Memories.SEARCH, byRank), plans.explainGeneric(Memories.SEARCH, byRank),
                plans.explain(Memories.SEARCH_RECENT, byCreated), plans.explainGeneric(Memories.SEARCH_RECENT, byCreated),
                plans.explain(Memories.SEARCH_RECENT, firstByCreated), plans.explainGeneric(Memories.SEARCH_RECENT, firstByCreated))) {
            assertThat(plan).as(plan).contains("Bitmap Index Scan on memories_words_idx").doesNotContain("Seq Scan")
                    .doesNotContain("memories_scope_idx").doesNotContain("memories_recent_idx").doesNotContain("memories_pkey");
        }
        assertThat(Memories.SEARCH.sql() + Memories.SEARCH_RECENT.sql()).doesNotContainIgnoringCase("offset");
    }

    @Test
    void a_word_search_of_several_people_at_once_reads_the_words_index() throws SQLException {
        var bound = Memories.SEARCH_EACH.bind("language", "english").bind("text", "subject17").bind("scope", "('~u:1' | '~u:42') & '~h:1'")
                .bind("size", 5);
        String plan = plans.explain(bound.query(), bound.arguments());

        assertThat(plan).contains("Bitmap Index Scan on memories_words_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_word_search_in_a_small_scope_reads_the_words_index_too() throws SQLException {
        String plan = plans.explain(Memories.SEARCH, "english", "topic17", "'~u:42'", APP, 42L, 20, Float.POSITIVE_INFINITY,
                Long.MAX_VALUE);

        assertThat(plan).contains("memories_words_idx").doesNotContain("Seq Scan");
    }
}
