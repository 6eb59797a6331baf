package dev.parley.chat;

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
 * leaderboard_entries as V35 keeps it, on real PostgreSQL: filled from the counters users had before it, then kept by
 * its triggers through any write of users, whoever makes it (a flush, an UPDATE by hand, an INSERT with counters).
 */
class LeaderboardEntriesTest {
    private static final String DB = "parley_leaderboard_entries";

    private static Connection sql;

    /** A database at V34 with two users that have counters, then migrated to this build's schema. */
    @BeforeAll
    static void migrateOverCounters() throws SQLException {
        TestDatabase.get().migratedOver(DB, "34", s -> {
            s.execute("INSERT INTO apps (name) VALUES ('before'), ('other')");
            s.execute("""
                    INSERT INTO users (app_id, external_id, counters) VALUES
                        (1, 'old-a', '{"xp": 40, "coins": 3}'), (1, 'old-b', '{"xp": 70, "note": "vip"}'),
                        (1, 'old-c', '{}'), (2, 'elsewhere', '{"xp": 1000}')""");
        });
        sql = TestDatabase.get().connect(DB);
    }

    @AfterAll
    static void close() throws SQLException {
        sql.close();
    }

    @Test
    void the_migration_ranks_the_counters_users_already_had_and_skips_what_is_not_an_integer() throws SQLException {
        assertThat(entries(1, "xp")).containsExactly("old-b=70", "old-a=40");
        assertThat(entries(1, "coins")).containsExactly("old-a=3");
        assertThat(entries(1, "note")).as("a string is not ranked").isEmpty();
        assertThat(entries(2, "xp")).containsExactly("elsewhere=1000");
    }

    @Test
    void an_update_by_hand_moves_adds_and_removes_entries_and_one_of_the_profile_changes_none() throws SQLException {
        long user = insertUser("hand", "{\"hp\": 5, \"gems\": 2, \"level\": 1}");
        assertThat(entries(1, "gems")).as("a user inserted with counters is ranked").containsExactly("hand=2");

        run("UPDATE users SET counters = counters - 'gems' || '{\"hp\": 6, \"level\": 1.5}' WHERE user_id = " + user);
        assertThat(entries(1, "gems")).as("a counter removed").isEmpty();
        assertThat(entries(1, "level")).as("a counter made a non-integer").isEmpty();
        assertThat(entries(1, "hp")).containsExactly("hand=6");

        run("UPDATE users SET profile = '{\"name\": \"Hand\"}' WHERE user_id = " + user);
        assertThat(entries(1, "hp")).containsExactly("hand=6");
    }

    @Test
    void one_statement_over_many_users_writes_each_ones_moves() throws SQLException {
        long first = insertUser("batch-1", "{\"streak\": 1}");
        long second = insertUser("batch-2", "{\"streak\": 2}");

        run("UPDATE users SET counters = jsonb_build_object('streak', (counters ->> 'streak')::bigint * 10) WHERE user_id IN ("
                + first + ", " + second + ")");

        assertThat(entries(1, "streak")).containsExactly("batch-2=20", "batch-1=10");
    }

    @Test
    void a_deleted_user_takes_its_entries_along() throws SQLException {
        long user = insertUser("gone", "{\"karma\": 9}");

        run("DELETE FROM users WHERE user_id = " + user);

        assertThat(entries(1, "karma")).isEmpty();
    }

    private static long insertUser(String externalId, String counters) throws SQLException {
        try (var insert = sql.prepareStatement("INSERT INTO users (app_id, external_id, counters) VALUES (1, ?, ?::jsonb) RETURNING user_id")) {
            insert.setString(1, externalId);
            insert.setString(2, counters);
            try (var rows = insert.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static void run(String statement) throws SQLException {
        try (var s = sql.createStatement()) {
            s.execute(statement);
        }
    }

    /** The app's entries of one counter as "external_id=value", in leaderboard order. */
    private static List<String> entries(long app, String counter) throws SQLException {
        try (var query = sql.prepareStatement("""
                SELECT u.external_id, e.value FROM leaderboard_entries e JOIN users u USING (app_id, user_id)
                 WHERE e.app_id = ? AND e.name = ? ORDER BY e.value DESC, e.user_id""")) {
            query.setLong(1, app);
            query.setString(2, counter);
            List<String> found = new ArrayList<>();
            try (var rows = query.executeQuery()) {
                while (rows.next()) {
                    found.add(rows.getString(1) + "=" + rows.getLong(2));
                }
            }
            return found;
        }
    }
}
