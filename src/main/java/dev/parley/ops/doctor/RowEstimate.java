package dev.parley.ops.doctor;

/**
 * A relation's row count as the planner estimates it: reltuples scaled by how much the relation has
 * grown since it was last vacuumed or analysed. Cheaper than count(*), and unlike n_live_tup it is not
 * inflated when ANALYZE runs before the loading session has published its counters.
 */
final class RowEstimate {
    private RowEstimate() {
    }

    /** The estimate as a SQL expression over the pg_class row aliased {@code a}, put where {@code sql} says {@code :rows(a)}. */
    static String in(String sql, String a) {
        return sql.replace(":rows(" + a + ")", "(CASE WHEN " + a + ".reltuples > 0 AND " + a + ".relpages > 0 THEN "
                + a + ".reltuples / " + a + ".relpages * (pg_relation_size(" + a + ".oid) / current_setting('block_size')::float8)"
                + " ELSE greatest(" + a + ".reltuples, pg_stat_get_live_tuples(" + a + ".oid), 0) END)");
    }
}
