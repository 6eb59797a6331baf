package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * memory_scopes.embedded as V38 keeps it, on real PostgreSQL: counted from the memories scopes had before it, then kept
 * by its triggers through any write of memories, whoever makes it (Parley's writes, an erasure, a statement by hand).
 */
class ScopeCountsTest {
    private static final String DB = "parley_scope_counts";
    private static final String EMBEDDING = "'\\x0000803f'::bytea"; // one float32, 1.0

    private static Connection sql;

    /** A database at V37 with two scopes of one user, one of another, then migrated to this build's schema. */
    @BeforeAll
    static void migrateOverMemories() throws SQLException {
        TestDatabase.get().migratedOver(DB, "37", s -> {
            s.execute("INSERT INTO apps (name) VALUES ('before')");
            s.execute("INSERT INTO users (app_id, external_id) VALUES (1, 'ada'), (1, 'bo')");
            // (1, 2, 8): a length left behind by a delete that did not forget it (a conversation's, before V39)
            s.execute("""
                    INSERT INTO memory_scopes (app_id, user_id, character_id, dims)
                    VALUES (1, 1, 7, 1), (1, 1, 8, 1), (1, 2, 7, 1), (1, 2, 8, 1)""");
            s.execute("""
                    INSERT INTO memories (app_id, user_id, character_id, content, embedding) VALUES
                        (1, 1, 7, 'a', %1$s), (1, 1, 7, 'b', %1$s), (1, 1, 7, 'words only', NULL),
                        (1, 1, 8, 'c', %1$s), (1, 2, 7, 'd', NULL)""".formatted(EMBEDDING));
        });
        sql = TestDatabase.get().connect(DB);
    }

    @AfterAll
    static void close() throws SQLException {
        sql.close();
    }

    @Test
    void the_migration_counts_the_embeddings_each_scope_already_held_and_forgets_the_length_of_those_without() throws SQLException {
        assertThat(counts()).containsExactly("1/7=2", "1/8=1", "2/7=0", "2/8=0");
        assertThat(single("SELECT count(*) FROM memory_scopes WHERE user_id = 2 AND dims IS NOT NULL")).isZero();
        assertThat(single("SELECT count(*) FROM memory_scopes WHERE user_id = 1 AND dims IS NULL")).isZero();
    }

    @Test
    void a_scope_whose_last_embedding_goes_forgets_its_length_whichever_statement_takes_it() throws SQLException {
        long user = userWithTwoScopes("dee");
        run("""
                INSERT INTO memories (app_id, user_id, character_id, content, embedding) VALUES
                    (1, %1$d, 1, 'p', %2$s), (1, %1$d, 1, 'q', %2$s), (1, %1$d, 2, 'r', %2$s)""".formatted(user, EMBEDDING));

        run("DELETE FROM memories WHERE user_id = %d AND content IN ('p', 'r')".formatted(user));
        assertThat(dims(user, 1)).as("one embedding left").isEqualTo(1);
        assertThat(dims(user, 2)).as("its last embedding deleted").isNull();

        run("UPDATE memories SET embedding = NULL WHERE user_id = %d AND content = 'q'".formatted(user));
        assertThat(dims(user, 1)).as("its last embedding taken away").isNull();
    }

    @Test
    void inserts_updates_and_deletes_of_several_scopes_in_one_statement_move_each_ones_count() throws SQLException {
        long user = userWithTwoScopes("cy");

        run("""
                INSERT INTO memories (app_id, user_id, character_id, content, embedding) VALUES
                    (1, %1$d, 1, 'x', %2$s), (1, %1$d, 1, 'y', %2$s), (1, %1$d, 2, 'z', %2$s), (1, %1$d, 2, 'w', NULL)"""
                .formatted(user, EMBEDDING));
        assertThat(count(user, 1)).isEqualTo(2);
        assertThat(count(user, 2)).isEqualTo(1);

        run("UPDATE memories SET embedding = %s WHERE user_id = %d AND content = 'w'".formatted(EMBEDDING, user));
        run("UPDATE memories SET embedding = NULL WHERE user_id = %d AND content = 'x'".formatted(user));
        run("UPDATE memories SET content = 'y again', embedding = %s WHERE user_id = %d AND content = 'y'".formatted(EMBEDDING, user));
        assertThat(count(user, 1)).as("one embedding taken away, one replaced").isEqualTo(1);
        assertThat(count(user, 2)).as("one given").isEqualTo(2);

        run("DELETE FROM memories WHERE user_id = %d AND content IN ('x', 'z')".formatted(user));
        assertThat(count(user, 1)).as("a memory without an embedding deleted").isEqualTo(1);
        assertThat(count(user, 2)).isEqualTo(1);
    }

    private static List<String> counts() throws SQLException {
        List<String> counts = new ArrayList<>();
        try (var rows = sql.createStatement().executeQuery("""
                SELECT user_id, character_id, embedded FROM memory_scopes WHERE user_id IN (1, 2) ORDER BY user_id, character_id""")) {
            while (rows.next()) {
                counts.add(rows.getLong(1) + "/" + rows.getLong(2) + "=" + rows.getInt(3));
            }
        }
        return counts;
    }

    /** A new user of the app with a scope of characters 1 and 2, each of one dimension. */
    private static long userWithTwoScopes(String externalId) throws SQLException {
        run("INSERT INTO users (app_id, external_id) VALUES (1, '" + externalId + "')");
        long user = single("SELECT user_id FROM users WHERE external_id = '" + externalId + "'");
        run("INSERT INTO memory_scopes (app_id, user_id, character_id, dims) VALUES (1, %d, 1, 1), (1, %d, 2, 1)".formatted(user, user));
        return user;
    }

    private static Integer dims(long user, long character) throws SQLException {
        try (var rows = sql.createStatement().executeQuery(
                "SELECT dims FROM memory_scopes WHERE user_id = %d AND character_id = %d".formatted(user, character))) {
            assertThat(rows.next()).isTrue();
            int dims = rows.getInt(1);
            return rows.wasNull() ? null : dims;
        }
    }

    private static long count(long user, long character) throws SQLException {
        return single("SELECT embedded FROM memory_scopes WHERE user_id = %d AND character_id = %d".formatted(user, character));
    }

    private static long single(String query) throws SQLException {
        try (var rows = sql.createStatement().executeQuery(query)) {
            assertThat(rows.next()).as(query).isTrue();
            return rows.getLong(1);
        }
    }

    private static void run(String statement) throws SQLException {
        sql.createStatement().execute(statement);
    }
}
