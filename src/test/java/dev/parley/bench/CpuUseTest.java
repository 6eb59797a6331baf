package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CpuUseTest {
    private static final long MS = 1_000_000;

    @Test
    void each_part_is_divided_by_the_operations_done() {
        var use = new CpuUse(100 * MS, 300L * MS, 200L * MS, 700L * MS, 20L * MS, 1_000 * MS);

        assertThat(use.perOperation(1_000, 2)).isEqualTo(
                "bench 100 µs, server 300 µs, PostgreSQL 200 µs, machine 700 µs; 1 % of the machine stolen");
    }

    @Test
    void a_machine_counted_busy_for_less_than_its_parts_is_reported_as_at_least_their_sum() {
        var use = new CpuUse(150 * MS, 350L * MS, 130L * MS, 330L * MS, 0L, 1_000 * MS);

        assertThat(use.perOperation(1_000, 2)).isEqualTo("bench 150 µs, server 350 µs, PostgreSQL 130 µs, machine ≥ 630 µs"
                + " (counted 330: " + CpuUse.UNDERCOUNT + "); 0 % of the machine stolen");
    }

    @Test
    void parts_that_could_not_be_read_are_left_out() {
        var use = new CpuUse(100 * MS, null, null, null, null, 1_000 * MS);

        assertThat(use.perOperation(1_000, 2)).isEqualTo("bench 100 µs");
        assertThat(use.perOperation(0, 2)).isEqualTo("no operations");
    }
}
