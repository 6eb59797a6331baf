package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * index.bloat: a btree index at least half of which is empty space (and at least 10 MB of it), as
 * left by mass deletes or updates: it is read and cached as if it were full. Estimated from the
 * table's row count and ANALYZE's column widths, so expression and partial indexes, and tables never
 * analysed, are not assessed. REINDEX CONCURRENTLY rebuilds it without blocking writes.
 */
final class IndexBloat implements Check {
    private static final Query CANDIDATES = new Query("doctor.index_bloat", """
            SELECT format('%I.%I', n.nspname, ic.relname) AS index_name, format('%I.%I', n.nspname, t.relname) AS table_name,
                   pg_relation_size(i.indexrelid) AS bytes, t.reltuples AS table_rows,
                   current_setting('block_size')::int AS block_size,
                   coalesce((SELECT option_value::int FROM pg_options_to_table(ic.reloptions)
                              WHERE option_name = 'fillfactor'), 90) AS fillfactor,
                   i.indnatts AS columns, st.columns_with_stats, st.data_width, st.has_nulls
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
              JOIN pg_am am ON am.oid = ic.relam
              LEFT JOIN LATERAL (
                  SELECT count(*) AS columns_with_stats, sum(s.avg_width * (1 - s.null_frac)) AS data_width,
                         coalesce(bool_or(s.null_frac > 0), false) AS has_nulls
                    FROM unnest(i.indkey::int2[]) AS k(attnum)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname
                                   AND s.attname = a.attname AND NOT s.inherited) st ON true
             WHERE am.amname = 'btree' AND ic.relkind = 'i' AND i.indisvalid
               AND i.indexprs IS NULL AND i.indpred IS NULL
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
               AND pg_relation_size(i.indexrelid) >= ?
             ORDER BY bytes DESC""");

    @Override
    public String id() {
        return "index.bloat";
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
            long expected = Bloat.expectedBtreePages(row.blockSize(), row.rows(), row.dataWidth(), row.hasNulls(),
                    row.fillfactor()) * row.blockSize();
            long wasted = row.bytes() - expected;
            if (Bloat.significant(wasted, row.bytes())) {
                findings.add(new Finding(id(), Severity.WARNING, row.index(),
                        row.index() + " is about " + Pretty.percent((double) wasted / row.bytes()) + " empty space ("
                                + Pretty.bytes(wasted) + " of " + Pretty.bytes(row.bytes()) + ")",
                        new Evidence().with("size", Pretty.bytes(row.bytes())).with("size_bytes", row.bytes())
                                .with("expected_size", Pretty.bytes(expected)).with("wasted_bytes", wasted)
                                .with("table", row.table()).with("table_rows", (long) row.rows()),
                        Fix.automatic("REINDEX INDEX CONCURRENTLY " + row.index() + ";")));
            }
        }
        if (unassessed > 0) {
            inspection.limit(unassessed + " btree index(es) of " + Pretty.bytes(Bloat.MIN_WASTED_BYTES)
                    + " or more not assessed: their tables were never analysed, or this role cannot read their pg_stats rows");
        }
        return findings;
    }

    private record Candidate(String index, String table, long bytes, double rows, int blockSize, int fillfactor,
                             int columns, int columnsWithStats, double dataWidth, boolean hasNulls) {
        static Candidate map(ResultSet row) throws SQLException {
            return new Candidate(row.getString("index_name"), row.getString("table_name"), row.getLong("bytes"),
                    row.getDouble("table_rows"), row.getInt("block_size"), row.getInt("fillfactor"), row.getInt("columns"),
                    row.getInt("columns_with_stats"), row.getDouble("data_width"), row.getBoolean("has_nulls"));
        }
    }
}
