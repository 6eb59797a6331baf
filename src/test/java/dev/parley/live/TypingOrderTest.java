package dev.parley.live;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class TypingOrderTest {
    /** Started in one millisecond, they stop in it too: the list was in a map's order, and docs/api.md's example flipped. */
    @Test
    void those_who_stop_at_once_are_listed_people_first_then_characters_each_by_id() {
        Instant at = Instant.parse("2027-01-01T00:00:10Z");
        var character = new Typing.Typist(null, 1L, at);
        var user = new Typing.Typist(9L, null, at);
        var otherUser = new Typing.Typist(3L, null, at);
        var sooner = new Typing.Typist(null, 7L, at.minusMillis(1));

        List<Typing.Typist> sorted = Stream.of(character, user, sooner, otherUser).sorted(Typing.ORDER).toList();

        assertThat(sorted).containsExactly(sooner, otherUser, user, character);
    }
}
