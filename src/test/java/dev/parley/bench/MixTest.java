package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MixTest {
    @Test
    void a_phase_draws_every_operation_of_the_mix_first_even_the_rare_ones() {
        var draws = Mix.named("chat").draws();
        var random = new SplittableRandom(1);
        // A bulk write is its own mix, and so is a search of memories.
        Set<Operation> chat = EnumSet.complementOf(EnumSet.of(Operation.APPEND_BATCH, Operation.SEARCH_MEMORIES));
        Set<Operation> first = EnumSet.noneOf(Operation.class);
        for (int i = 0; i < chat.size(); i++) {
            first.add(draws.next(random));
        }

        assertThat(first).isEqualTo(chat);
    }

    @Test
    void one_operation_is_named_as_the_option_names_it() {
        var random = new SplittableRandom(1);

        assertThat(Mix.named("window-count").draws().next(random)).isEqualTo(Operation.WINDOW_COUNT);
        assertThat(Mix.named("filtered-history").draws().next(random)).isEqualTo(Operation.FILTERED_HISTORY);
        assertThat(Mix.named("append-batch").draws().next(random)).isEqualTo(Operation.APPEND_BATCH);
        assertThat(Mix.named("search-memories").draws().next(random)).isEqualTo(Operation.SEARCH_MEMORIES);
        assertThat(Mix.named("mark-read").operations()).containsExactly(Operation.READ);
        assertThat(Mix.named("read").operations()).as("the read mix").containsExactlyInAnyOrder(Operation.INBOX,
                Operation.HISTORY, Operation.CONTEXT);
    }
}
