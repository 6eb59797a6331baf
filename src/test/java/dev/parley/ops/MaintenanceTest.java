package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.WordIndexes;
import dev.parley.lifecycle.Archive;
import dev.parley.lifecycle.Retention;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MaintenanceTest {
    private static Database database;
    // The database's clock, which split the catch-alls at migration and ages the idempotency keys, stopped.
    private final Instant now = database.read(handle -> handle.first(new Query("test.now", "SELECT now()"),
            row -> row.getTimestamp(1).toInstant())).orElseThrow();
    private final Maintenance maintenance = new Maintenance(database, new Partitions(database),
            new Retention(database, database, new Partitions(database), Clock.fixed(now, ZoneOffset.UTC), Retention.BATCH_ROWS),
            new Archive(database, database, new Partitions(database), Clock.fixed(now, ZoneOffset.UTC)), Optional.empty(),
            Clock.fixed(now, ZoneOffset.UTC), new SimpleMeterRegistry());

    @BeforeAll
    static void migrate() {
        database = TestDatabase.pool(TestDatabase.get().migrated("parley_maintenance"), 2);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void serve_puts_back_the_words_indexes_an_interrupted_bulk_import_left_on_pending_lists() {
        maintenance.ensurePartitions();
        WordIndexes.throughPendingLists(database, true); // as import --bulk starts; a Ctrl-C then skips its finally
        assertThat(leftOn()).isNotEmpty();

        List<String> putBack = maintenance.putBackWordIndexes(); // as serve starts

        assertThat(putBack).contains("memories_words_idx");
        assertThat(leftOn()).isEmpty();
        assertThat(maintenance.putBackWordIndexes()).isEmpty();
    }

    private static List<String> leftOn() {
        return database.read(handle -> handle.list(new Query("test.words_left_on", """
                SELECT c.relname FROM pg_class c
                 WHERE (c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'messages_words_idx'::regclass)
                        OR c.relname = 'memories_words_idx') AND 'fastupdate=on' = ANY (c.reloptions)"""), row -> row.getString(1)));
    }

    /**
     * Autovacuum analyses partitions, never their parents: the doctor found one never analysed. A round analyses
     * messages once its partitions hold 1,000 rows, and not again within 6 days (each time it samples every partition).
     */
    @Test
    void a_round_analyses_the_messages_parent_once_its_partitions_hold_rows_and_not_again_that_week() {
        maintenance.ensurePartitions();
        YearMonth month = YearMonth.from(now.atZone(ZoneOffset.UTC));
        maintenance.run();
        assertThat(parentAnalysed()).as("partitions without rows: nothing to plan on yet").isNull();

        database.read(handle -> handle.execute(new Query("test.rows", """
                INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content)
                SELECT 1, 2, 1, ? + n, n, parley_id_time(? + n), 'user', 'x' FROM generate_series(1, 1000) n"""),
                Partitions.floorOf(month), Partitions.floorOf(month)));
        database.read(handle -> handle.execute(new Query("test.analyze_month", "ANALYZE " + Partitions.nameOf(month))));
        maintenance.run();
        Instant first = parentAnalysed();
        maintenance.run();

        assertThat(first).as("analysed once its partitions hold 1,000 rows").isNotNull();
        assertThat(parentAnalysed()).as("not again within 6 days").isEqualTo(first);
    }

    private static Instant parentAnalysed() {
        return database.read(handle -> handle.first(new Query("test.analysed", """
                SELECT last_analyze FROM pg_stat_user_tables WHERE relid = 'messages'::regclass"""),
                row -> row.getTimestamp(1) == null ? null : row.getTimestamp(1).toInstant())).orElse(null);
    }

    @Test
    void a_round_drops_idempotency_keys_past_their_week_and_keeps_the_rest() {
        insertKey("old", "now() - interval '8 days'");
        insertKey("recent", "now() - interval '6 days'");

        maintenance.run();

        List<String> kept = database.read(handle -> handle.list(new Query("test.keys",
                "SELECT idempotency_key FROM message_idempotency_keys"), row -> row.getString(1)));
        assertThat(kept).containsExactly("recent");
    }

    @Test
    void a_round_makes_months_ahead_and_counts_rows_that_had_no_month() {
        YearMonth month = YearMonth.from(now.atZone(ZoneOffset.UTC));
        long farFuture = Partitions.floorOf(month.plusMonths(12)) + 1;
        database.read(handle -> handle.execute(new Query("test.straggler", """
                INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content)
                VALUES (1, 1, 1, ?, 1, parley_id_time(?), 'user', 'x')"""), farFuture, farFuture));

        long stragglers = maintenance.run();

        assertThat(stragglers).isEqualTo(1);
        assertThat(new Partitions(database).list()).extracting(Partitions.Partition::name)
                .contains(Partitions.nameOf(month), Partitions.nameOf(month.plusMonths(Maintenance.MONTHS_AHEAD)));
    }

    private void insertKey(String key, String createdAt) {
        database.read(handle -> handle.execute(new Query("test.insert_key", """
                INSERT INTO message_idempotency_keys (app_id, conversation_id, idempotency_key, request_hash, message_id, created_at)
                VALUES (1, 1, ?, '\\x00', 1, %s)""".formatted(createdAt)), key));
    }
}
