package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.sql.SQLException;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each test cuts partitions of its own: a new database per test, copied from the migrated template. */
class PartitionsTest {
    private final Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_partitions"), 2);
    private final Partitions partitions = new Partitions(database);
    // The month the migration split the catch-alls at, by the database's clock: the months these tests
    // cut are placed around it, so they hold on any date.
    private final YearMonth now = YearMonth.from(Ids.timeOf(partitions.list().stream()
            .filter(p -> p.name().equals(Partitions.AFTER)).findFirst().orElseThrow().fromId()).atZone(ZoneOffset.UTC));

    @AfterEach
    void close() {
        database.close();
    }

    @Test
    void ensure_ahead_makes_the_current_month_and_the_next_three() {
        partitions.ensureAhead(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), 3);

        assertThat(monthNames()).containsSequence(
                Partitions.nameOf(now), Partitions.nameOf(now.plusMonths(1)),
                Partitions.nameOf(now.plusMonths(2)), Partitions.nameOf(now.plusMonths(3)));
        List<Partitions.Partition> all = partitions.list();
        assertThat(all.getFirst().name()).isEqualTo(Partitions.BEFORE);
        assertThat(all.getLast().name()).isEqualTo(Partitions.AFTER);
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).fromId()).as("contiguous").isEqualTo(all.get(i - 1).toId());
        }
    }

    @Test
    void ensuring_twice_changes_nothing() {
        partitions.ensure(now.minusMonths(2), now.plusMonths(3));
        List<String> first = monthNames();
        partitions.ensure(now.minusMonths(1), now.plusMonths(2));

        assertThat(monthNames()).isEqualTo(first);
    }

    @Test
    void rows_in_a_catch_all_are_reported_then_moved_into_their_new_month() throws SQLException {
        partitions.ensure(now, now.plusMonths(1));
        YearMonth later = now.plusMonths(5);
        long id = Partitions.floorOf(later) + 7;
        insertMessage(id);
        insertMessage(Partitions.floorOf(now.minusMonths(6)) + 3);

        assertThat(partitions.catchAllRows()).isEqualTo(2);
        partitions.ensure(now.minusMonths(6), later);

        assertThat(partitions.catchAllRows()).isZero();
        assertThat(partitionHolding(id)).isEqualTo(Partitions.nameOf(later));
    }

    @Test
    void every_partition_writes_its_words_index_through_without_a_pending_list() {
        partitions.ensure(now.minusMonths(2), now.plusMonths(4)); // months made after the migration, and a cut catch-all

        List<String> options = database.read(handle -> handle.list(new Query("test.words_index_options", """
                SELECT coalesce(array_to_string(c.reloptions, ','), '') FROM pg_class c
                 WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'messages_words_idx'::regclass)
                    OR c.relname = 'memories_words_idx'"""), row -> row.getString(1)));

        assertThat(options).as("each month, the catch-alls and the memories").hasSize(monthNames().size() + 3)
                .allMatch(o -> o.contains("fastupdate=off"));
    }

    @Test
    void an_old_time_gets_its_own_month_and_the_months_between_stay_gaps() {
        partitions.ensureAhead(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), 3);
        List<String> ahead = monthNames();
        YearMonth old = now.minusYears(20);

        partitions.ensureCovers(List.of(old.atDay(1).atTime(10, 0).toInstant(ZoneOffset.UTC)));

        assertThat(monthNames()).as("one month more, not one for each month since").hasSize(ahead.size() + 1)
                .startsWith(Partitions.nameOf(old));
        assertThat(partitions.gaps()).containsExactly(new Partitions.Gap(Partitions.floorOf(old.plusMonths(1)), Partitions.floorOf(now)));
        Instant between = old.plusYears(5).atDay(3).atStartOfDay().toInstant(ZoneOffset.UTC);
        assertThat(partitions.archived(between)).as("a gap is no archived month").isFalse();

        partitions.ensureCovers(List.of(between)); // a write into a gap makes its month first
        insertMessage(Ids.floorOf(between) + 1);

        assertThat(partitionHolding(Ids.floorOf(between) + 1)).isEqualTo(Partitions.nameOf(old.plusYears(5)));
        assertThat(monthNames()).hasSize(ahead.size() + 2);
        assertThat(partitions.gaps()).containsExactly(
                new Partitions.Gap(Partitions.floorOf(old.plusMonths(1)), Partitions.floorOf(old.plusYears(5))),
                new Partitions.Gap(Partitions.floorOf(old.plusYears(5).plusMonths(1)), Partitions.floorOf(now)));
        assertThat(partitions.catchAllRows()).isZero();
    }

    @Test
    void a_month_cut_from_the_older_catch_all_takes_along_every_month_with_rows_there_and_only_those() throws SQLException {
        partitions.ensure(now, now.plusMonths(1));
        long waiting = Partitions.floorOf(now.minusMonths(30)) + 5;
        insertMessage(waiting);

        partitions.ensureCovers(List.of(now.minusMonths(60).atDay(2).atStartOfDay().toInstant(ZoneOffset.UTC)));

        assertThat(monthNames()).containsExactly(Partitions.nameOf(now.minusMonths(60)), Partitions.nameOf(now.minusMonths(30)),
                Partitions.nameOf(now), Partitions.nameOf(now.plusMonths(1)));
        assertThat(partitionHolding(waiting)).isEqualTo(Partitions.nameOf(now.minusMonths(30)));
        assertThat(partitions.catchAllRows()).isZero();
        assertThat(partitions.gaps()).containsExactly(
                new Partitions.Gap(Partitions.floorOf(now.minusMonths(59)), Partitions.floorOf(now.minusMonths(30))),
                new Partitions.Gap(Partitions.floorOf(now.minusMonths(29)), Partitions.floorOf(now)));
    }

    @Test
    void months_cut_from_the_newer_catch_all_leave_no_gap_as_the_clocks_ids_go_there() {
        partitions.ensure(now, now.plusMonths(1));

        partitions.ensureCovers(List.of(now.plusMonths(5).atDay(2).atStartOfDay().toInstant(ZoneOffset.UTC)));

        assertThat(monthNames()).hasSize(6);
        assertThat(partitions.gaps()).isEmpty();
    }

    @Test
    void the_catch_all_takes_a_month_retention_dropped_over_the_gap_beside_it() {
        partitions.ensureAhead(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), 3);
        YearMonth old = now.minusYears(4);
        partitions.ensureCovers(List.of(old.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC)));
        Partitions.Partition month = partitions.list().get(1);
        assertThat(month.name()).isEqualTo(Partitions.nameOf(old));

        partitions.move(month.name(), Partitions.RETIRED); // as retention takes it out
        partitions.widenBefore(month);

        assertThat(partitions.list().getFirst().toId()).isEqualTo(Partitions.floorOf(old.plusMonths(1)));
        assertThat(partitions.gaps()).containsExactly(new Partitions.Gap(Partitions.floorOf(old.plusMonths(1)), Partitions.floorOf(now)));
        assertThat(partitions.archived(old.atDay(9).atStartOfDay().toInstant(ZoneOffset.UTC))).isFalse();
        assertThat(partitions.archived(old.plusMonths(7).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC))).isFalse();
    }

    @Test
    void a_month_dropped_beyond_a_gap_and_the_gap_go_to_the_catch_all() {
        partitions.ensureAhead(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), 3);
        YearMonth old = now.minusYears(4);
        YearMonth later = now.minusYears(2);
        partitions.ensureCovers(List.of(old.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC),
                later.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC)));
        for (int i = 0; i < 2; i++) { // retention drops the oldest months, one at a time
            Partitions.Partition month = partitions.list().get(1);
            partitions.move(month.name(), Partitions.RETIRED);
            partitions.widenBefore(month);
        }

        assertThat(partitions.list().getFirst().toId()).isEqualTo(Partitions.floorOf(later.plusMonths(1)));
        assertThat(partitions.gaps()).containsExactly(new Partitions.Gap(Partitions.floorOf(later.plusMonths(1)), Partitions.floorOf(now)));
    }

    @Test
    void the_archive_limit_makes_the_gaps_before_it_archived_months() {
        partitions.ensureAhead(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), 3);
        YearMonth old = now.minusYears(3);
        partitions.ensureCovers(List.of(old.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC)));
        Instant inGap = now.minusYears(2).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);

        partitions.archiveGapsBefore(Partitions.floorOf(now.minusYears(1)) + 99);

        assertThat(partitions.archived(inGap)).isTrue();
        assertThat(partitions.gaps()).containsExactly(new Partitions.Gap(Partitions.floorOf(now.minusYears(1)), Partitions.floorOf(now)));
    }

    @Test
    void month_boundaries_are_the_ids_of_the_first_millisecond_of_the_month() {
        long floor = Partitions.floorOf(YearMonth.of(2026, 11));

        assertThat(Ids.timeOf(floor)).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(Ids.timeOf(floor - 1)).isBefore(Instant.parse("2026-11-01T00:00:00Z"));
    }

    private List<String> monthNames() {
        return partitions.list().stream().filter(p -> !p.isCatchAll()).map(Partitions.Partition::name).toList();
    }

    private void insertMessage(long id) {
        database.read(handle -> handle.execute(new Query("test.insert_message", """
                INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content)
                VALUES (1, 1, 1, ?, 1, parley_id_time(?), 'user', 'x')"""), id, id));
    }

    private String partitionHolding(long id) {
        return database.read(handle -> handle.first(new Query("test.partition_of", """
                SELECT tableoid::regclass::text FROM messages WHERE message_id = ?"""), row -> row.getString(1), id)).orElseThrow();
    }
}
