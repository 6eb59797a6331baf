package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Ids;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The week windows a heavy user's search reads first, on dates inside a week, across a month and a year, at the scope's start. */
class SearchWindowsTest {
    private static long id(String time) {
        return at(time) | 17;
    }

    private static long at(String time) {
        return Ids.floorOf(Instant.parse(time));
    }

    @Test
    void two_weeks_of_id_time_end_at_the_newest_id_and_start_on_week_boundaries() {
        // 2000-01-01 was a Saturday; weeks of id time start on Saturdays at midnight UTC.
        long newest = id("2026-12-17T10:00:00Z"); // a Thursday: the week began on 2026-12-12
        List<MessageSearch.Window> weeks = MessageSearch.weeks(0, newest + 1, 2);

        assertThat(weeks).containsExactly(new MessageSearch.Window(at("2026-12-12T00:00:00Z"), newest + 1),
                new MessageSearch.Window(at("2026-12-05T00:00:00Z"), at("2026-12-12T00:00:00Z")));
        assertThat(MessageSearch.week(weeks.get(0).lower())).isEqualTo(MessageSearch.week(newest))
                .isEqualTo(MessageSearch.week(weeks.get(1).lower()) + 1).isEqualTo(MessageSearch.week(weeks.get(1).upper() - 1) + 1);
    }

    @Test
    void a_week_window_stops_at_the_start_of_its_month_so_the_first_days_of_a_year_are_a_window_of_their_own() {
        long newest = id("2027-01-01T10:00:00Z"); // a Friday: its week began on 2026-12-26, its month today
        List<MessageSearch.Window> weeks = MessageSearch.weeks(0, newest + 1, 2);

        assertThat(weeks).containsExactly(new MessageSearch.Window(at("2027-01-01T00:00:00Z"), newest + 1),
                new MessageSearch.Window(at("2026-12-26T00:00:00Z"), at("2027-01-01T00:00:00Z")));
        assertThat(MessageSearch.week(weeks.get(1).lower())).as("one week's token serves both").isEqualTo(MessageSearch.week(newest));
    }

    @Test
    void a_week_stops_at_the_scopes_first_id_and_a_newest_id_on_a_week_boundary_is_in_its_own_week() {
        long newest = at("2026-12-05T00:00:00Z"); // Saturday midnight: the first id of a week
        long floor = at("2026-12-03T12:00:00Z");
        List<MessageSearch.Window> weeks = MessageSearch.weeks(floor, newest + 1, 2);

        assertThat(weeks).containsExactly(new MessageSearch.Window(newest, newest + 1), new MessageSearch.Window(floor, newest));
        assertThat(MessageSearch.weeks(floor, floor + 1, 2)).as("nothing below the floor")
                .containsExactly(new MessageSearch.Window(floor, floor + 1), new MessageSearch.Window(floor, floor));
    }

    @Test
    void no_weeks_asked_gives_empty_windows_at_the_top() {
        long newest = id("2026-12-01T00:00:00Z");
        assertThat(MessageSearch.weeks(0, newest, 0))
                .containsExactly(new MessageSearch.Window(newest, newest), new MessageSearch.Window(newest, newest));
    }

    @Test
    void a_week_token_names_the_scope_and_the_week() {
        assertThat(MessageSearch.weekToken(MessageSearch.token("u", 7), 1456)).isEqualTo("'~u:7:w1456'");
    }
}
