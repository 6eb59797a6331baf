package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * index.invalid: an index left invalid by a failed or cancelled CREATE INDEX CONCURRENTLY (or a
 * partitioned index not yet attached on every partition). It serves no query yet every write still
 * maintains it. Indexes being built right now are left alone.
 */
final class InvalidIndexes implements Check {
    private static final Query INVALID = new Query("doctor.invalid_indexes", """
            SELECT i.indexrelid::bigint AS oid, format('%I.%I', n.nspname, ic.relname) AS index_name,
                   format('%I.%I', n.nspname, t.relname) AS table_name, ic.relkind = 'I' AS partitioned,
                   i.indisunique AS is_unique, pg_get_indexdef(i.indexrelid) AS definition,
                   pg_relation_size(i.indexrelid) AS bytes
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE NOT (i.indisvalid AND i.indisready)
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
             ORDER BY 2""");

    // For a partitioned index: each partition with no index attached to it, and the statement that makes one.
    private static final Query UNATTACHED = new Query("doctor.unattached_partitions", """
            SELECT format('%I.%I', pn.nspname, p.relname) AS partition_name, p.relkind = 'p' AS partitioned,
                   format('%I.%I', pn.nspname, left(p.relname || '_' || regexp_replace(ic.relname, '^' || t.relname || '_', ''), 63)) AS new_index
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_inherits h ON h.inhparent = t.oid
              JOIN pg_class p ON p.oid = h.inhrelid
              JOIN pg_namespace pn ON pn.oid = p.relnamespace
             WHERE i.indexrelid = ?::oid
               AND NOT EXISTS (SELECT 1 FROM pg_inherits hi JOIN pg_index pi ON pi.indexrelid = hi.inhrelid
                                WHERE hi.inhparent = i.indexrelid AND pi.indrelid = p.oid)
             ORDER BY 1""");

    @Override
    public String id() {
        return "index.invalid";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        for (var invalid : inspection.list(INVALID, Invalid::map)) {
            findings.add(invalid.partitioned() ? partitioned(inspection, invalid) : plain(invalid));
        }
        return findings;
    }

    private record Invalid(long oid, String name, String table, boolean partitioned, boolean unique, String definition,
                           long bytes) {
        static Invalid map(ResultSet row) throws SQLException {
            return new Invalid(row.getLong("oid"), row.getString("index_name"), row.getString("table_name"),
                    row.getBoolean("partitioned"), row.getBoolean("is_unique"), row.getString("definition"),
                    row.getLong("bytes"));
        }
    }

    private Finding plain(Invalid index) {
        String rebuild = index.definition().replaceFirst("^CREATE (UNIQUE )?INDEX ", "CREATE $1INDEX CONCURRENTLY ") + ";";
        // A unique build usually failed on duplicate rows: rebuilding before they are gone fails again.
        Fix fix = index.unique()
                ? Fix.manual("DROP INDEX CONCURRENTLY " + index.name() + ";",
                        "-- remove the duplicate rows that made the unique build fail, then:", rebuild)
                : Fix.automatic("DROP INDEX CONCURRENTLY " + index.name() + ";", rebuild);
        return new Finding(id(), Severity.WARNING, index.name(),
                index.name() + " is invalid (a CREATE INDEX CONCURRENTLY failed or was cancelled): no query uses it, "
                        + "yet every write to " + index.table() + " updates it",
                new Evidence().with("index", index.definition()).with("size", Pretty.bytes(index.bytes()))
                        .with("size_bytes", index.bytes()),
                fix);
    }

    private Finding partitioned(Inspection inspection, Invalid index) throws SQLException {
        record Missing(String partition, boolean partitioned, String newIndex) {
        }
        List<Missing> missing = inspection.list(UNATTACHED, row -> new Missing(row.getString("partition_name"),
                row.getBoolean("partitioned"), row.getString("new_index")), index.oid());
        List<String> statements = new ArrayList<>();
        for (Missing m : missing) {
            String create = index.definition()
                    .replaceFirst("^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+",
                            "CREATE $1INDEX" + (m.partitioned() ? "" : " CONCURRENTLY") + " " + m.newIndex()
                                    .substring(m.newIndex().indexOf('.') + 1) + " ON " + (m.partitioned() ? "ONLY " : "")
                                    + m.partition());
            statements.add(create + ";");
            statements.add("ALTER INDEX " + index.name() + " ATTACH PARTITION " + m.newIndex() + ";");
        }
        return new Finding(id(), Severity.WARNING, index.name(),
                index.name() + " on partitioned table " + index.table() + " is invalid until every partition has an "
                        + "index attached to it; " + missing.size() + " partition(s) have none",
                new Evidence().with("index", index.definition())
                        .with("partitions_without_index", missing.stream().map(Missing::partition).toList()),
                missing.stream().allMatch(m -> !m.partitioned()) ? new Fix(statements, true) : Fix.manual(statements));
    }
}
