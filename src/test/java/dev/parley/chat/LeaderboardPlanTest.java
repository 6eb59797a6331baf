package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN of a leaderboard's pages and of one user's rank over 200,000 users of one app with xp (half of them
 * tied at 0) and 50,000 of another, written through users.counters so the trigger (V35) fills the entries,
 * ANALYZEd: a page reads one range of leaderboard_entries_rank_idx, as many entries as it lists (plus the
 * one that says another page follows), never the users' counters, wherever it starts.
 */
class LeaderboardPlanTest {
    private static final String DB = "parley_leaderboard_plans";
    private static final long APP = 1;
    private static final int USERS = 200_000;
    private static final int PAGE = 21;
    private static final Pattern ROWS_READ = Pattern.compile("Index (?:Only )?Scan using leaderboard_entries_rank_idx[^\\n]*"
            + "actual rows=(\\d+)");

    private static Connection connection;
    private static Plans plans;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('plans'), ('neighbour')");
            s.execute("""
                    INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, %d) g""".formatted(USERS));
            s.execute("INSERT INTO users (app_id, external_id) SELECT 2, 'other-' || g FROM generate_series(1, 50000) g");
            // As flushes write them: half the users at 0, the rest spread over a few thousand values; each has coins too.
            s.execute("""
                    UPDATE users SET counters = jsonb_build_object('xp', CASE WHEN user_id % 2 = 0 THEN 0 ELSE user_id % 5000 END,
                                                                    'coins', user_id % 97)""");
            s.execute("VACUUM ANALYZE");
        }
        // VACUUM marks a page all-visible only past every snapshot open in the database (an autovacuum's ANALYZE of
        // users, which the UPDATE above sets off, holds one): until then the planner prices the heap visits an
        // index-only scan would skip, and two CI runs saw it choose a bitmap scan. Vacuumed again until it has.
        dev.parley.support.Wait.forValue("every page of leaderboard_entries all-visible", java.time.Duration.ofSeconds(60), () -> {
            try (var s = connection.createStatement()) {
                s.execute("VACUUM leaderboard_entries");
                try (var rows = s.executeQuery(
                        "SELECT relallvisible >= relpages FROM pg_class WHERE oid = 'leaderboard_entries'::regclass")) {
                    rows.next();
                    return rows.getBoolean(1) ? java.util.Optional.of(true) : java.util.Optional.<Boolean>empty();
                }
            }
        });
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void the_first_page_is_the_top_of_the_index_and_reads_no_more_than_it_lists() throws SQLException {
        String plan = plans.explain(Leaderboards.PAGE, APP, "xp", Long.MAX_VALUE, 0L, PAGE);

        assertUsesTheIndexForThePageOnly(plan);
        assertThat(plan).as("the page's users by primary key").contains("users_pkey");
    }

    @Test
    void a_page_deep_inside_a_tie_reads_only_its_own_entries() throws SQLException {
        long midTie = USERS / 2; // an even user id: at 0, with 50,000 of the tie before it

        String plan = plans.explain(Leaderboards.PAGE, APP, "xp", 0L, midTie, PAGE);

        assertUsesTheIndexForThePageOnly(plan);
        assertThat(plan).containsPattern("rows=" + PAGE + "\\b");
    }

    @Test
    void a_generic_plan_of_a_later_page_uses_the_index_too() throws SQLException {
        String plan = plans.explainGeneric(Leaderboards.PAGE, APP, "xp", 2500L, 4999L, PAGE);

        assertUsesTheIndexForThePageOnly(plan);
    }

    @Test
    void a_rank_counts_the_entries_above_in_the_index_alone() throws SQLException {
        // A user in the middle, with some 50,000 entries above: at the top (none above), a bitmap scan of nothing cost
        // the planner as little as the index alone, and it took either (a CI run saw the bitmap).
        String plan = plans.explain(Leaderboards.RANK, APP, 2501L, "xp");

        assertThat(plan).contains("leaderboard_entries_pkey").contains("Index Only Scan using leaderboard_entries_rank_idx")
                .doesNotContain("Seq Scan").doesNotContain("users");
    }

    private static void assertUsesTheIndexForThePageOnly(String plan) {
        assertThat(plan).contains("leaderboard_entries_rank_idx").doesNotContain("Seq Scan").doesNotContain("Bitmap");
        Matcher scans = ROWS_READ.matcher(plan);
        int found = 0;
        while (scans.find()) {
            found++;
            assertThat(Long.parseLong(scans.group(1))).as(plan).isLessThanOrEqualTo(PAGE);
        }
        assertThat(found).as(plan).isPositive();
    }
}
