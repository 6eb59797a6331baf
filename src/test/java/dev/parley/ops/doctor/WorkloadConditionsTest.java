package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.ops.doctor.Workload.Condition;
import org.junit.jupiter.api.Test;

/** Reading the columns and operators out of the filters EXPLAIN (VERBOSE) prints. */
class WorkloadConditionsTest {
    @Test
    void reads_qualified_columns_and_their_operators() {
        assertThat(Workload.conditions("((o.customer_id = $1) AND (o.created_at >= $2))")).containsExactly(
                new Condition("customer_id", "=", null), new Condition("created_at", ">=", null));
    }

    @Test
    void reads_jsonb_and_pattern_operators() {
        assertThat(Workload.conditions("((t.attrs ? $1) AND (t.data @> $2) AND (t.tags ?| $3))")).extracting(Condition::operator)
                .containsExactly("?", "@>", "?|");
        assertThat(Workload.conditions("(notes.body ~~* $1)")).containsExactly(new Condition("body", "~~*", null));
    }

    @Test
    void sees_lower_and_upper_around_a_column_and_casts_after_it() {
        assertThat(Workload.conditions("(lower(n.body) ~~ $1)")).containsExactly(new Condition("body", "~~", "lower"));
        assertThat(Workload.conditions("((o.status)::text = $1)")).containsExactly(new Condition("status", "=", null));
    }

    @Test
    void reads_null_tests_and_quoted_names_and_skips_literals_and_json_paths() {
        assertThat(Workload.conditions("((t.deleted_at IS NULL) AND (t.\"Mixed Case\" = $1))")).containsExactly(
                new Condition("deleted_at", "IS NULL", null), new Condition("Mixed Case", "=", null));
        assertThat(Workload.conditions("((t.metadata ->> 'kind'::text) = $1)")).isEmpty();
    }
}
