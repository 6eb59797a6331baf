package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * vacuum.table_bloat: a table at least half of which is empty space (and at least 10 MB of it).
 * VACUUM makes dead rows' space reusable but does not give it back, so a table that once held many
 * more rows stays that big: every sequential scan and backup reads the empty pages. Estimated from
 * reltuples and ANALYZE's column widths (the classic estimate check_postgres and pgwatch use).
 */
final class TableBloat implements Check {
    private static final Query CANDIDATES = new Query("doctor.table_bloat", """
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name, pg_relation_size(c.oid) AS bytes,
                   c.reltuples AS table_rows, current_setting('block_size')::int AS block_size,
                   coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                              WHERE option_name = 'fillfactor'), 100) AS fillfactor,
                   (SELECT count(*) FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
                   st.columns_with_stats, st.data_width, st.has_nulls
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN LATERAL (
                  SELECT count(*) AS columns_with_stats, sum(s.avg_width * (1 - s.null_frac)) AS data_width,
                         coalesce(bool_or(s.null_frac > 0), false) AS has_nulls
                    FROM pg_stats s
                   WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited) st ON true
             WHERE c.relkind IN ('r', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
               AND pg_relation_size(c.oid) >= ?
             ORDER BY bytes DESC""");

    @Override
    public String id() {
        return "vacuum.table_bloat";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        int unassessed = 0;
        for (var row : inspection.list(CANDIDATES, Candidate::map, Bloat.MIN_WASTED_BYTES)) {
            if (row.rows() < 0 || row.columnsWithStats() < row.columns()) {
                unassessed++;
                continue;
            }
            long expected = Bloat.expectedHeapPages(row.blockSize(), row.rows(), row.dataWidth(), row.columns(),
                    row.hasNulls(), row.fillfactor()) * row.blockSize();
            long wasted = row.bytes() - expected;
            if (Bloat.significant(wasted, row.bytes())) {
                findings.add(new Finding(id(), Severity.WARNING, row.table(),
                        row.table() + " is about " + Pretty.percent((double) wasted / row.bytes()) + " empty space ("
                                + Pretty.bytes(wasted) + " of " + Pretty.bytes(row.bytes()) + " for "
                                + Pretty.count((long) row.rows()) + " rows)",
                        new Evidence().with("size", Pretty.bytes(row.bytes())).with("size_bytes", row.bytes())
                                .with("expected_size", Pretty.bytes(expected)).with("wasted_bytes", wasted)
                                .with("table_rows", (long) row.rows()),
                        Fix.manual("-- VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock (no reads or writes "
                                + "until it ends); pg_repack does the same online", "VACUUM FULL " + row.table() + ";")));
            }
        }
        if (unassessed > 0) {
            inspection.limit(unassessed + " table(s) of " + Pretty.bytes(Bloat.MIN_WASTED_BYTES)
                    + " or more not assessed: never analysed, or this role cannot read their pg_stats rows");
        }
        return findings;
    }

    private record Candidate(String table, long bytes, double rows, int blockSize, int fillfactor, int columns,
                             int columnsWithStats, double dataWidth, boolean hasNulls) {
        static Candidate map(ResultSet row) throws SQLException {
            return new Candidate(row.getString("table_name"), row.getLong("bytes"), row.getDouble("table_rows"),
                    row.getInt("block_size"), row.getInt("fillfactor"), row.getInt("columns"),
                    row.getInt("columns_with_stats"), row.getDouble("data_width"), row.getBoolean("has_nulls"));
        }
    }
}
