package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.db.Partitions;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/stats}'s {@code months[].bytes} is the app's share of a month: its rows over every app's. A month
 * never analysed (pg_class.reltuples -1) or analysed before other apps wrote must not hand an app their bytes.
 * On a clock stopped in March 2027, whatever today is, in a database of its own with autovacuum off for the month.
 */
class AppStatsMonthsTest {
    private static final Instant NOW = Instant.parse("2027-03-10T12:00:00Z");
    private static final String MONTH = Partitions.nameOf(YearMonth.of(2027, 3));

    private final String database = "parley_stats_months";
    private final Parley parley = TestServer.start(database, Map.of(), at(NOW));
    private final Api big = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("big").apiKey());
    private final Api small = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("small").apiKey());

    @AfterEach
    void stop() {
        parley.close();
    }

    @Test
    void an_apps_bytes_do_not_grow_with_another_apps_rows_in_a_month_never_analysed_or_analysed_before_them() throws SQLException {
        try (Connection sql = TestDatabase.get().connect(database)) {
            sql.createStatement().execute("ALTER TABLE " + MONTH + " SET (autovacuum_enabled = false)");
        }
        String chat = Fixtures.conversation(small).get("id").asText();
        for (int i = 0; i < 3; i++) {
            Fixtures.say(small, chat, "user", "small " + i);
        }
        long alone = bytesOf(small);

        appendMany(big, 2000);
        assertThat(reltuples()).as("the month was never analysed").isNegative();
        long besideNeverAnalysed = bytesOf(small);

        try (Connection sql = TestDatabase.get().connect(database)) {
            sql.createStatement().execute("ANALYZE " + MONTH);
        }
        appendMany(big, 2000);
        long besideStale = bytesOf(small);
        long month = monthBytes();

        assertThat(month).as("the big app's rows are in the month").isGreaterThan(10 * alone);
        assertThat(besideNeverAnalysed).as("3 rows of 2003, the month never analysed").isLessThanOrEqualTo(alone);
        assertThat(besideStale).as("3 rows of 4003, the month analysed at 2003").isLessThan(month / 100);
        assertThat(bytesOf(big)).as("the big app's share").isGreaterThan(month * 9 / 10);
    }

    private static long bytesOf(Api api) {
        JsonNode months = api.getOk("/v1/stats").get("months");
        assertThat(months).hasSize(1);
        assertThat(months.get(0).get("month").asText()).isEqualTo("2027-03");
        return months.get(0).get("bytes").asLong();
    }

    private static void appendMany(Api api, int count) {
        String chat = Fixtures.conversation(api).get("id").asText();
        String content = "x".repeat(500);
        for (int done = 0; done < count; done += 1000) {
            List<Map<String, Object>> batch = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                batch.add(Map.of("role", "user", "content", content + i));
            }
            api.postOk(201, "/v1/conversations/" + chat + "/messages/batch", Map.of("messages", batch));
        }
    }

    private double reltuples() throws SQLException {
        try (Connection sql = TestDatabase.get().connect(database);
             ResultSet row = sql.createStatement().executeQuery("SELECT reltuples FROM pg_class WHERE relname = '" + MONTH + "'")) {
            row.next();
            return row.getDouble(1);
        }
    }

    private long monthBytes() throws SQLException {
        try (Connection sql = TestDatabase.get().connect(database);
             ResultSet row = sql.createStatement().executeQuery("SELECT pg_total_relation_size('" + MONTH + "')")) {
            row.next();
            return row.getLong(1);
        }
    }

    private static TestClock at(Instant instant) {
        var clock = new TestClock();
        clock.advance(Duration.between(Instant.now(), instant));
        return clock;
    }
}
