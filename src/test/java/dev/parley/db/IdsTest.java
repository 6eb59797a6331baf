package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.SteppingClock;
import dev.parley.support.TestDatabase;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IdsTest {
    private static Database database;

    @BeforeAll
    static void migrate() {
        database = TestDatabase.pool(TestDatabase.get().migrated("parley_ids"), 2);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void ids_carry_their_time_and_only_grow() throws SQLException {
        var clock = new SteppingClock(Instant.parse("2026-11-23T12:00:00Z"));
        var ids = new Ids(clock);

        long[] drawn = database.read(handle -> ids.next(3000, Long.MIN_VALUE, handle));

        assertThat(drawn).isSorted().doesNotHaveDuplicates();
        assertThat(Ids.timeOf(drawn[0])).isEqualTo(Instant.parse("2026-11-23T12:00:00Z"));
    }

    @Test
    void an_id_drawn_after_a_floor_from_the_future_is_above_it() throws SQLException {
        var ids = new Ids(Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC));
        long aheadOfUs = Ids.floorOf(Instant.parse("2026-11-23T12:00:05Z")) + 4_000_000;

        long[] next = database.read(handle -> ids.next(2, aheadOfUs, handle));

        assertThat(next[0]).isGreaterThan(aheadOfUs);
        assertThat(next[1]).isGreaterThan(next[0]);
    }

    @Test
    void a_floor_from_the_future_does_not_move_the_ids_drawn_after_it_without_one() throws SQLException {
        Instant now = Instant.parse("2026-11-23T12:00:00Z");
        var ids = new Ids(Clock.fixed(now, ZoneOffset.UTC));
        long aheadOfUs = Ids.floorOf(now.plusSeconds(290));

        long lifted = database.read(handle -> ids.next(1, aheadOfUs, handle))[0];
        long next = database.read(ids::next);

        assertThat(Ids.timeOf(lifted)).isEqualTo(now.plusSeconds(290));
        assertThat(Ids.timeOf(next)).as("another conversation's id, drawn after").isEqualTo(now);
    }

    @Test
    void two_instances_sharing_the_sequence_never_draw_the_same_id() throws SQLException {
        Clock frozen = Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC);
        var first = new Ids(frozen);
        var second = new Ids(frozen);
        Set<Long> seen = new HashSet<>();

        for (int round = 0; round < 10; round++) {
            for (long id : database.read(handle -> first.next(700, Long.MIN_VALUE, handle))) {
                assertThat(seen.add(id)).isTrue();
            }
            for (long id : database.read(handle -> second.next(700, Long.MIN_VALUE, handle))) {
                assertThat(seen.add(id)).isTrue();
            }
        }
    }

    @Test
    void a_block_older_than_a_second_is_dropped_for_a_fresh_one() throws SQLException {
        var clock = new SteppingClock(Instant.parse("2026-11-23T12:00:00Z"));
        var ids = new Ids(clock);
        long first = database.read(ids::next);
        clock.advance(1500);
        long second = database.read(ids::next);

        assertThat(second & Ids.LOW_MASK).as("low bits from a new block")
                .isNotEqualTo((first & Ids.LOW_MASK) + 1);
    }
}
