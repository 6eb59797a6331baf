package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;

/**
 * index.fk_without_index: a foreign key whose columns lead no valid, non-partial btree index on the
 * referencing table. Every delete or key update on the referenced table then scans the referencing
 * table to check for (or cascade to) its rows, under lock, and joins along the key cannot use an index.
 * A warning from {@value #WARNING_ROWS} referencing rows up; below that the scan is cheap.
 */
final class UnindexedForeignKeys implements Check {
    static final long WARNING_ROWS = 10_000;

    private static final Query UNINDEXED = new Query("doctor.unindexed_foreign_keys", RowEstimate.in(RowEstimate.in("""
            SELECT format('%I.%I', n.nspname, t.relname) AS table_name, quote_ident(c.conname) AS constraint_name,
                   format('%I.%I', rn.nspname, r.relname) AS referenced,
                   (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                      FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
                   t.relkind = 'p' AS partitioned,
                   coalesce((SELECT sum(:rows(x)) FROM pg_partition_tree(t.oid) p JOIN pg_class x ON x.oid = p.relid
                              WHERE p.isleaf), :rows(t))::bigint AS table_rows
              FROM pg_constraint c
              JOIN pg_class t ON t.oid = c.conrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
              JOIN pg_class r ON r.oid = c.confrelid
              JOIN pg_namespace rn ON rn.oid = r.relnamespace
             WHERE c.contype = 'f' AND c.conparentid = 0
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND NOT EXISTS (
                   SELECT 1 FROM pg_index i
                     JOIN pg_class ic ON ic.oid = i.indexrelid
                     JOIN pg_am am ON am.oid = ic.relam
                    WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND i.indisvalid AND am.amname = 'btree'
                      AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey)
             ORDER BY 1, 2""", "x"), "t"));

    @Override
    public String id() {
        return "index.fk_without_index";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.list(UNINDEXED, row -> {
            String table = row.getString("table_name");
            String columns = row.getString("columns");
            long rows = row.getLong("table_rows");
            String create = "INDEX ON " + table + " (" + columns + ");";
            Fix fix = row.getBoolean("partitioned")
                    ? Fix.manual("CREATE " + create) // CONCURRENTLY is refused on partitioned tables
                    : Fix.automatic("CREATE INDEX CONCURRENTLY ON " + table + " (" + columns + ");");
            return new Finding(id(), rows >= WARNING_ROWS ? Severity.WARNING : Severity.INFO,
                    table + " (" + columns + ")",
                    "foreign key " + row.getString("constraint_name") + " on " + table + " (" + columns + ") has no index: "
                            + "each delete or key update in " + row.getString("referenced") + " scans all "
                            + Pretty.count(rows) + " rows of " + table,
                    new Evidence()
                            .with("constraint", row.getString("constraint_name"))
                            .with("columns", columns)
                            .with("references", row.getString("referenced"))
                            .with("table_rows", rows),
                    fix);
        });
    }
}
