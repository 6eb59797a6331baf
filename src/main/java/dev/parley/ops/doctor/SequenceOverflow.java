package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * runtime.sequence_overflow: an ascending sequence that has used more than 85% of its range (critical
 * past 95%, as check_postgres). The range ends at the sequence's own maximum or at the largest value of
 * the column it feeds (an integer column overflows at 2^31 - 1 even when the sequence is bigint).
 * When the range ends, every insert fails.
 */
final class SequenceOverflow implements Check {
    static final double WARNING = 0.85;
    static final double CRITICAL = 0.95;

    private static final Query SEQUENCES = new Query("doctor.sequences", """
            SELECT format('%I.%I', s.schemaname, s.sequencename) AS sequence_name, s.data_type::text AS sequence_type,
                   s.last_value, s.max_value,
                   has_sequence_privilege(format('%I.%I', s.schemaname, s.sequencename), 'SELECT,USAGE') AS readable,
                   col.table_name, col.column_name, col.column_type, col.identity
              FROM pg_sequences s
              LEFT JOIN LATERAL (
                  SELECT format('%I.%I', tn.nspname, t.relname) AS table_name, quote_ident(a.attname) AS column_name,
                         format_type(a.atttypid, NULL) AS column_type, d.deptype = 'i' AS identity
                    FROM pg_class sc
                    JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                    JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass
                                    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                    JOIN pg_class t ON t.oid = d.refobjid
                    JOIN pg_namespace tn ON tn.oid = t.relnamespace
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                   WHERE sc.relname = s.sequencename AND sn.nspname = s.schemaname
                   LIMIT 1) col ON true
             WHERE s.increment_by > 0
             ORDER BY 1""");

    @Override
    public String id() {
        return "runtime.sequence_overflow";
    }

    private record Sequence(String name, String type, Long lastValue, long maxValue, boolean readable, String table,
                            String column, String columnType, boolean identity) {
        long capacity() {
            long columnMax = switch (columnType == null ? "" : columnType) {
                case "smallint" -> Short.MAX_VALUE;
                case "integer" -> Integer.MAX_VALUE;
                default -> Long.MAX_VALUE;
            };
            return Math.min(maxValue, columnMax);
        }
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        int unreadable = 0;
        for (Sequence s : inspection.list(SEQUENCES, row -> new Sequence(row.getString("sequence_name"),
                row.getString("sequence_type"), (Long) row.getObject("last_value"), row.getLong("max_value"),
                row.getBoolean("readable"), row.getString("table_name"), row.getString("column_name"),
                row.getString("column_type"), row.getBoolean("identity")))) {
            if (!s.readable()) {
                unreadable++;
                continue;
            }
            if (s.lastValue() == null) {
                continue; // never used
            }
            double used = (double) s.lastValue() / s.capacity();
            if (used >= WARNING) {
                findings.add(finding(s, used));
            }
        }
        if (unreadable > 0) {
            inspection.limit(unreadable + " sequence(s) not assessed: this role has no SELECT or USAGE on them");
        }
        return findings;
    }

    private Finding finding(Sequence s, double used) {
        String feeds = s.table() == null ? "" : " (feeds " + s.table() + "." + s.column() + ", " + s.columnType() + ")";
        List<String> fix = new ArrayList<>();
        boolean narrowColumn = "integer".equals(s.columnType()) || "smallint".equals(s.columnType());
        if (narrowColumn) {
            fix.add("-- rewrites the table under an ACCESS EXCLUSIVE lock; widen referencing foreign key columns too");
            fix.add("ALTER TABLE " + s.table() + " ALTER COLUMN " + s.column() + " TYPE bigint;");
        }
        if (!s.type().equals("bigint") && !(narrowColumn && s.identity())) { // an identity sequence follows its column
            fix.add("ALTER SEQUENCE " + s.name() + " AS bigint;");
        }
        if (fix.isEmpty()) {
            fix.add("-- already bigint end to end: reset the sequence only if old values are gone (ALTER SEQUENCE ... RESTART)");
        }
        return new Finding(id(), used >= CRITICAL ? Severity.CRITICAL : Severity.WARNING, s.name(),
                "sequence " + s.name() + feeds + " has used " + Pretty.percent(used) + " of its range; "
                        + Pretty.count(s.capacity() - s.lastValue()) + " values remain before inserts fail",
                new Evidence().with("last_value", s.lastValue()).with("capacity", s.capacity())
                        .with("sequence_type", s.type()).with("column", s.table() == null ? null : s.table() + "." + s.column())
                        .with("column_type", s.columnType()),
                Fix.manual(fix));
    }
}
