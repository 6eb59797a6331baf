package dev.parley.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.Date;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the analytics reads over refreshed views of 300,000 messages: 20 apps, each with 50
 * characters writing every day for 300 days, and 15,000 conversations. Each read of one app's range
 * must be an index range scan of its view's unique key (the index REFRESH CONCURRENTLY needs too).
 */
class AnalyticsPlanTest {
    private static final String DB = "parley_analytics_plans";
    private static final long APP = 7;
    private static Connection connection;
    private static Plans plans;
    private static Date from;
    private static Date to;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        // From the first of last month, so the range spans two months on any date: on the 31st of a month
        // the last 30 days are one month, and one app's month is a row the planner reads whole.
        from = Date.valueOf(today.withDayOfMonth(1).minusMonths(1));
        to = Date.valueOf(today);
        try (var s = connection.createStatement()) {
            // One message per (app, character, day), ids made from its time; the catch-all partitions take them.
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, message_id, seq, author_character_id, user_id, created_at,
                                          role, content)
                    SELECT app, app * 1000 + c, (((extract(epoch FROM t) * 1000)::bigint - 946684800000) << 22) | (app * 64 + c),
                           1, CASE WHEN c % 2 = 0 THEN c END, app * 1000 + c, t,
                           CASE WHEN c % 2 = 0 THEN 'assistant' ELSE 'user' END, 'x'
                      FROM generate_series(1, 20) app, generate_series(1, 50) c, generate_series(0, 299) d,
                           LATERAL (SELECT date_trunc('day', now()) - d * interval '1 day' + c * interval '1 minute' AS t) time""");
            s.execute("INSERT INTO apps (name) SELECT 'app-' || g FROM generate_series(1, 20) g");
            s.execute("INSERT INTO characters (app_id, name) SELECT g, 'c' FROM generate_series(1, 20) g"); // character g of app g
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1 + g % 20, 'u' || g FROM generate_series(1, 15000) g");
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id, created_at,
                                               last_activity_at, updated_at)
                    SELECT app_id, user_id, user_id, app_id, user_id, now() - (user_id / 20 % 300) * interval '1 day', now(), now()
                      FROM users""");
            for (var view : AnalyticsRefresh.VIEWS) {
                s.execute(view.sql());
            }
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void messages_per_character_per_day_read_a_range_of_the_views_key() throws SQLException {
        assertThat(plans.explain(Analytics.CHARACTER_DAYS, APP, from, to))
                .contains("analytics_character_days_key").doesNotContain("Seq Scan");
        assertThat(plans.explain(Analytics.ONE_CHARACTER_DAYS, APP, from, to, 4L))
                .contains("analytics_character_days_key").doesNotContain("Seq Scan");
    }

    @Test
    void active_users_read_a_range_of_the_views_keys() throws SQLException {
        assertThat(plans.explain(Analytics.ACTIVE_DAYS, APP, from, to))
                .contains("analytics_active_days_key").doesNotContain("Seq Scan");
        assertThat(plans.explain(Analytics.ACTIVE_MONTHS, APP, from, to))
                .contains("analytics_active_months_key").doesNotContain("Seq Scan");
    }

    @Test
    void conversations_started_read_a_range_of_the_views_key() throws SQLException {
        assertThat(plans.explain(Analytics.CONVERSATION_DAYS, APP, from, to))
                .contains("analytics_conversation_days_key").doesNotContain("Seq Scan");
    }

    @Test
    void one_conversations_roles_are_one_key_lookup() throws SQLException {
        assertThat(plans.explain(Analytics.CONVERSATION_ROLES, APP, APP * 1000 + 2))
                .contains("Index Scan using analytics_conversation_roles_key").doesNotContain("Seq Scan");
    }
}
