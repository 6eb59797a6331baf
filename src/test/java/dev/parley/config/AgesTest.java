package dev.parley.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Period;
import org.junit.jupiter.api.Test;

class AgesTest {
    @Test
    void an_age_past_100_years_is_told_so_however_many_digits_it_has() {
        for (String typo : new String[] {"36525d", "99999y", "99999999999d", "123456789012345678901234567890mo"}) {
            assertThatThrownBy(() -> Ages.parse(typo)).as(typo).hasMessageContaining("at most 100 years").hasMessageContaining(typo);
        }
    }

    @Test
    void an_age_is_a_whole_number_above_0_and_a_unit() {
        assertThat(Ages.parse("30d")).isEqualTo(Period.ofDays(30));
        assertThat(Ages.parse("006mo")).isEqualTo(Period.ofMonths(6));
        assertThat(Ages.parse("36524d")).isEqualTo(Period.ofDays(36524));
        for (String wrong : new String[] {"0d", "000y", "-5d", "6 months", "1.5y", "30", "d"}) {
            assertThatThrownBy(() -> Ages.parse(wrong)).as(wrong).hasMessageContaining("a whole number above 0");
        }
    }
}
