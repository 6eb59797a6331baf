package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Retention on a clock stopped at 2027-06-15, whatever today is. App A keeps 30 days, app B 60, app C
 * for ever. January 2027 holds only A's and B's messages, both past their retention: the month goes
 * whole. February holds C's: it stays, and so does every later month (months go oldest first only);
 * A's older messages in them go in batches.
 */
class RetentionTest {
    private static final Instant NOW = Instant.parse("2027-06-15T12:00:00Z");
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final TestClock clock = at(NOW);
    private final String database = "parley_retention_" + DATABASES.incrementAndGet();
    private final Parley parley = TestServer.start(database, Map.of(), clock);
    private final Api a = app("a");
    private final Api b = app("b");
    private final Api c = app("c");

    @AfterEach
    void stop() {
        parley.close();
    }

    @Test
    void a_month_every_app_lets_go_is_dropped_whole_and_the_rest_goes_in_batches_with_counts_kept_exact() throws SQLException {
        keep(a, 30);
        keep(b, 60);
        String aChat = chat(a, "2027-01-05T00:00:00Z");
        say(a, aChat, "2027-01-10T00:00:00Z", "january, A", "key-1");
        say(a, aChat, "2027-01-11T00:00:00Z", "january again, A", null);
        say(a, aChat, "2027-03-01T00:00:00Z", "march, A", null);
        say(a, aChat, "2027-05-01T00:00:00Z", "may, A", null);
        say(a, aChat, "2027-06-10T00:00:00Z", "june, A", null);
        String aQuiet = chat(a, "2027-01-06T00:00:00Z");
        say(a, aQuiet, "2027-01-20T00:00:00Z", "the only word, in january", null);
        String bChat = chat(b, "2027-01-05T00:00:00Z");
        say(b, bChat, "2027-01-12T00:00:00Z", "january, B", null);
        say(b, bChat, "2027-05-01T00:00:00Z", "may, B", null);
        String cChat = chat(c, "2027-02-03T00:00:00Z");
        say(c, cChat, "2027-02-04T00:00:00Z", "february, C keeps everything", null);

        Retention.Applied applied = applyRetention();

        assertDroppedUpTo(applied, YearMonth.of(2027, 1));
        assertThat(applied.rowsDropped()).isEqualTo(4);
        assertThat(applied.rowsDeletedByApp()).hasSize(1).containsValue(2L); // A's march and may
        assertThat(applied.batches()).isEqualTo(2);

        assertThat(history(a, aChat)).containsExactly("june, A");
        assertThat(a.getOk("/v1/conversations/" + aChat).get("message_count").asLong()).isEqualTo(1);
        assertThat(a.getOk("/v1/conversations/" + aChat).get("last_message").get("preview").asText()).isEqualTo("june, A");
        assertThat(history(a, aQuiet)).isEmpty();
        JsonNode quiet = a.getOk("/v1/conversations/" + aQuiet);
        assertThat(quiet.get("message_count").asLong()).isZero();
        assertThat(quiet.get("last_message").isNull()).as("its only message went with january").isTrue();
        assertThat(history(b, bChat)).containsExactly("may, B");
        assertThat(b.getOk("/v1/conversations/" + bChat).get("message_count").asLong()).isEqualTo(1);
        assertThat(history(c, cChat)).containsExactly("february, C keeps everything");
        assertThat(characterUnread(a, aChat)).as("june only: january dropped whole, march and may in batches").isEqualTo(1);
        assertThat(characterUnread(a, aQuiet)).isZero();
        assertThat(characterUnread(b, bChat)).as("may only: january dropped whole").isEqualTo(1);
        assertThat(characterUnread(c, cChat)).isEqualTo(1);

        List<Partitions.Partition> months;
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 1)) {
            months = new Partitions(pool).list();
        }
        assertThat(months).extracting(Partitions.Partition::name).doesNotContain(Partitions.nameOf(YearMonth.of(2027, 1)));
        assertThat(months.getFirst().name()).isEqualTo(Partitions.BEFORE);
        assertThat(months.getFirst().toId()).isEqualTo(Partitions.floorOf(YearMonth.of(2027, 2)));
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM message_idempotency_keys")).isZero();
            assertThat(count(sql, "SELECT count(*) FROM pg_tables WHERE schemaname = '" + Partitions.RETIRED + "'")).isZero();
            assertThat(count(sql, "SELECT count(*) FROM partition_moves")).isZero();
        }

        Retention.Applied again = parley.retention().apply();
        assertThat(again.partitionsDropped()).isEmpty();
        assertThat(again.rowsDeleted()).isZero();
    }

    @Test
    void a_conversation_emptied_in_batches_has_no_last_message_and_one_only_thinned_keeps_its_own() {
        keep(a, 30);
        String cChat = chat(c, "2027-02-03T00:00:00Z"); // C keeps february on: A's older messages go in batches
        say(c, cChat, "2027-02-04T00:00:00Z", "february, C keeps everything", null);
        String emptied = chat(a, "2027-03-01T00:00:00Z");
        say(a, emptied, "2027-03-02T00:00:00Z", "march", null);
        say(a, emptied, "2027-04-02T00:00:00Z", "april, the last word", null);
        String thinned = chat(a, "2027-03-01T00:00:00Z");
        say(a, thinned, "2027-03-03T00:00:00Z", "march, goes", null);
        String june = a.postOk(201, "/v1/conversations/" + thinned + "/messages",
                Map.of("role", "assistant", "content", "june, stays", "created_at", "2027-06-10T00:00:00Z")).get("id").asText();

        Retention.Applied applied = parley.retention().apply();

        assertThat(applied.rowsDeleted()).isEqualTo(3);
        JsonNode empty = a.getOk("/v1/conversations/" + emptied);
        assertThat(empty.get("message_count").asLong()).isZero();
        assertThat(empty.get("last_message").isNull()).as(empty.toString()).isTrue();
        JsonNode last = a.getOk("/v1/conversations/" + thinned).get("last_message");
        assertThat(last.get("id").asText()).isEqualTo(june);
        assertThat(last.get("role").asText()).isEqualTo("assistant");
        assertThat(last.get("preview").asText()).isEqualTo("june, stays");
        assertThat(characterUnread(a, emptied)).as("both went in batches").isZero();
        String late = Fixtures.user(a, "late-" + System.nanoTime());
        assertThat(Fixtures.join(a, thinned, late).get("unread_count").asLong())
                .as("a guest who joins after it: june alone").isEqualTo(1);
    }

    @Test
    void a_month_retention_took_out_is_made_again_for_an_import_that_needs_it() throws SQLException {
        String aChat = aChatOfJanuaryAndJune();

        assertThat(parley.retention().apply().partitionsDropped()).contains(Partitions.nameOf(YearMonth.of(2027, 1)));
        String imported = chat(c, "2027-01-02T00:00:00Z");
        say(c, imported, "2027-01-03T00:00:00Z", "imported into a month that had gone", null);

        assertThat(history(c, imported)).containsExactly("imported into a month that had gone");
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.nameOf(YearMonth.of(2027, 1)))).isEqualTo(1);
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.BEFORE)).isZero();
        }
    }

    @Test
    void a_round_a_crash_cut_short_after_the_detach_is_finished_by_the_next() throws SQLException {
        String aChat = aChatOfJanuaryAndJune();
        String january = Partitions.nameOf(YearMonth.of(2027, 1));
        try (Connection sql = TestDatabase.get().connect(database)) { // as a round does, up to the crash
            sql.createStatement().execute("INSERT INTO partition_moves (partition_name, destination) VALUES ('"
                    + january + "', '" + Partitions.RETIRED + "')");
            sql.createStatement().execute("ALTER TABLE messages DETACH PARTITION " + january);
        }
        assertThat(a.getOk("/v1/conversations/" + aChat).get("message_count").asLong()).as("not yet made right").isEqualTo(2);

        Retention.Applied applied = parley.retention().apply();

        assertThat(applied.partitionsDropped()).contains(january);
        assertThat(a.getOk("/v1/conversations/" + aChat).get("message_count").asLong()).isEqualTo(1);
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM pg_class WHERE relname = '" + january + "'")).isZero();
            assertThat(count(sql, "SELECT count(*) FROM partition_moves")).isZero();
        }
    }

    @Test
    void beside_a_default_partition_an_operator_attached_old_messages_go_in_batches_and_no_month_moves() throws SQLException {
        String aChat = aChatOfJanuaryAndJune();
        String january = Partitions.nameOf(YearMonth.of(2027, 1));
        try (Connection sql = TestDatabase.get().connect(database)) {
            sql.createStatement().execute("CREATE TABLE messages_planted_default PARTITION OF messages DEFAULT");
        }

        Retention.Applied applied = parley.retention().apply();

        assertThat(applied.partitionsDropped()).as("no month detached beside it").isEmpty();
        assertThat(applied.rowsDeletedByApp()).containsValue(1L);
        assertThat(history(a, aChat)).containsExactly("june, A");
        assertThat(a.getOk("/v1/stats").get("months").findValuesAsText("month")).as("the months listed beside it")
                .contains("2027-06");
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            assertThat(new Partitions(pool).list()).extracting(Partitions.Partition::name)
                    .contains(january).doesNotContain("messages_planted_default");
            var archive = new Archive(pool, pool, new Partitions(pool), clock);
            assertThatThrownBy(() -> archive.archiveOlderThan(java.time.Period.ofMonths(3)))
                    .hasMessageContaining("messages has a DEFAULT partition, messages_planted_default");
        }
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM partition_moves")).as("nothing written down to finish").isZero();
            assertThat(count(sql, "SELECT count(*) FROM pg_trigger WHERE tgname = 'parley_archiving'")).as("no month refuses writes").isZero();
            assertThat(count(sql, "SELECT count(*) FROM " + Archive.SCHEMA + ".messages")).isZero();
        }
        String later = chat(a, "2027-01-15T00:00:00Z");
        say(a, later, "2027-01-20T00:00:00Z", "january still takes writes", null);
        assertThat(history(a, later)).containsExactly("january still takes writes");
    }

    @Test
    void an_app_sets_and_reads_its_retention_and_a_bad_value_is_refused() {
        JsonNode forever = a.getOk("/v1/retention");
        JsonNode kept = a.put("/v1/retention", Map.of("message_days", 30)).json();
        List<Integer> refused = new ArrayList<>();
        for (Object bad : List.of(0, 36_501, "30", 1.5)) {
            refused.add(a.put("/v1/retention", Map.of("message_days", bad)).status());
        }
        var missing = a.put("/v1/retention", Map.of());
        var unknown = a.put("/v1/retention", Map.of("message_days", 30, "memory_days", 30));
        Map<String, Object> none = new HashMap<>();
        none.put("message_days", null);
        JsonNode backToForever = a.put("/v1/retention", none).json();

        assertThat(forever.get("message_days").isNull()).isTrue();
        assertThat(kept.get("message_days").asInt()).isEqualTo(30);
        assertThat(Duration.between(Instant.parse(kept.get("deletes_before").asText()), clock.instant().minus(Duration.ofDays(30))))
                .isBetween(Duration.ZERO, Duration.ofSeconds(5));
        assertThat(refused).containsOnly(400);
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.text()).contains("message_days");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(backToForever.get("message_days").isNull()).isTrue();
        assertThat(b.getOk("/v1/retention").get("message_days").isNull()).as("another app's is its own").isTrue();
    }

    @Test
    void a_retention_longer_than_ids_reach_back_deletes_nothing_and_reports_its_true_cutoff() throws SQLException {
        String chat = chat(a, "2027-06-01T00:00:00Z");
        say(a, chat, "2027-06-14T00:00:00Z", "yesterday", null);
        JsonNode kept = a.put("/v1/retention", Map.of("message_days", Retention.MAX_DAYS)).json(); // back to 1927

        Retention.Applied applied = applyRetention();

        assertThat(Instant.parse(kept.get("deletes_before").asText())) // the test clock runs on from NOW
                .isBetween(Instant.parse("1927-07-10T12:00:00Z"), Instant.parse("1927-07-10T12:05:00Z"));
        assertThat(history(a, chat)).containsExactly("yesterday");
        assertThat(applied.partitionsDropped()).isEmpty();
    }

    /**
     * {@code last} went, and nothing after it. Empty months before it go too: which those are depends on the
     * day the test database was made (its first months are made from the real date), so they are not named.
     */
    private static void assertDroppedUpTo(Retention.Applied applied, YearMonth last) {
        String name = Partitions.nameOf(last);
        assertThat(applied.partitionsDropped()).contains(name).allMatch(dropped -> dropped.compareTo(name) <= 0);
    }

    /** One round of retention, deleting a row per batch so that several batches run. */
    private Retention.Applied applyRetention() throws SQLException {
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 4)) {
            return new Retention(pool, pool, new Partitions(pool), clock, 1).apply();
        }
    }

    /** A's chat with a message in January 2027 and one in June, A keeping 30 days: January is old enough to go. */
    private String aChatOfJanuaryAndJune() {
        keep(a, 30);
        String aChat = chat(a, "2027-01-05T00:00:00Z");
        say(a, aChat, "2027-01-10T00:00:00Z", "january, A", null);
        say(a, aChat, "2027-06-10T00:00:00Z", "june, A", null);
        return aChat;
    }

    private static TestClock at(Instant instant) {
        var clock = new TestClock();
        clock.advance(Duration.between(Instant.now(), instant));
        return clock;
    }

    private Api app(String name) {
        return new Api("http://127.0.0.1:" + parley.port(), parley.apps().create(name).apiKey());
    }

    private static void keep(Api app, int days) {
        assertThat(app.put("/v1/retention", Map.of("message_days", days)).status()).isEqualTo(200);
    }

    private static String chat(Api app, String createdAt) {
        String user = Fixtures.user(app, "u-" + System.nanoTime());
        String character = Fixtures.character(app, "Luna");
        return app.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character, "created_at", createdAt))
                .get("id").asText();
    }

    private static void say(Api app, String conversation, String createdAt, String content, String idempotencyKey) {
        String[] headers = idempotencyKey == null ? new String[0] : new String[] {"Idempotency-Key", idempotencyKey};
        app.postOk(201, "/v1/conversations/" + conversation + "/messages",
                Map.of("role", "user", "content", content, "created_at", createdAt), headers);
    }

    /** How many of the conversation's messages its character has not read: it reads none here, and wrote none. */
    private static long characterUnread(Api app, String conversation) {
        for (JsonNode member : app.getOk("/v1/conversations/" + conversation + "/members").get("members")) {
            if (member.get("kind").asText().equals("character")) {
                return member.get("unread_count").asLong();
            }
        }
        throw new AssertionError("conversation " + conversation + " has no character");
    }

    private static List<String> history(Api app, String conversation) {
        List<String> contents = new ArrayList<>();
        app.getOk("/v1/conversations/" + conversation + "/messages").get("messages").forEach(m -> contents.add(m.get("content").asText()));
        return contents;
    }

    private static long count(Connection sql, String query) throws SQLException {
        var rows = sql.createStatement().executeQuery(query);
        rows.next();
        return rows.getLong(1);
    }
}
