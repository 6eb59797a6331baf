package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LongKeysTest {
    @Test
    void a_map_answers_as_a_hash_map_does_through_its_growth_and_for_key_zero() {
        LongKeys keys = LongKeys.map();
        Map<Long, Long> expected = new HashMap<>();
        var random = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            // time-ordered ids one apart, random keys, and the keys a free slot or the absent value could be taken for
            long key = switch (i % 4) {
                case 0 -> 7_000_000_000_000_000L + i;
                case 1 -> random.nextLong();
                case 2 -> i % 1000 == 2 ? 0 : -i;
                default -> i % 1000 == 3 ? Long.MIN_VALUE : random.nextLong(1, 1000);
            };
            long value = random.nextLong();
            Long before = expected.putIfAbsent(key, value);
            assertThat(keys.putIfAbsent(key, value)).isEqualTo(before == null ? LongKeys.ABSENT : before);
        }
        expected.forEach((key, value) -> assertThat(keys.get(key)).as("key %d", key).isEqualTo(value));
        assertThat(keys.size()).isEqualTo(expected.size());
        assertThat(keys.get(42_424_242L)).isEqualTo(LongKeys.ABSENT);

        keys.put(0, 5);
        keys.put(7_000_000_000_000_000L, 6);
        assertThat(keys.get(0)).isEqualTo(5);
        assertThat(keys.get(7_000_000_000_000_000L)).isEqualTo(6);
        assertThat(keys.size()).isEqualTo(expected.size());
    }

    @Test
    void a_set_says_whether_a_key_was_there() {
        LongKeys keys = LongKeys.set();
        for (long key = -50_000; key < 50_000; key++) {
            assertThat(keys.add(key * 31)).isTrue();
        }
        for (long key = -50_000; key < 50_000; key++) {
            assertThat(keys.add(key * 31)).as("key %d", key * 31).isFalse();
        }
        assertThat(keys.add(1)).isTrue();
        assertThat(keys.size()).isEqualTo(100_001);
    }
}
