package dev.parley.ops.doctor;

import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.ops.doctor.TimePartitions.Child;
import dev.parley.ops.doctor.TimePartitions.Parent;
import dev.parley.ops.doctor.TimePartitions.Step;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * partition.default_rows: rows in a DEFAULT partition, or in a catch-all range open to MINVALUE or
 * MAXVALUE of a time-partitioned table (Parley's messages_before / messages_after). Each such row is a
 * period that had no partition when it was written. Queries on that period cannot prune to one partition,
 * and creating the missing partition later fails ("updated partition constraint for default partition
 * would be violated") until the rows are moved out. The fix creates the periods' partitions and moves
 * the rows, in one transaction.
 */
final class DefaultPartitionRows implements Check {
    static final long COUNT_CAP = 100_000;

    private static final Query OTHER_DEFAULTS = new Query("doctor.default_partitions", RowEstimate.in("""
            SELECT format('%I.%I', pn.nspname, p.relname) AS parent, format('%I.%I', n.nspname, c.relname) AS name,
                   c.relname, has_table_privilege(c.oid, 'SELECT') AS readable,
                   (SELECT coalesce(sum(:rows(x)), 0)::bigint
                      FROM pg_partition_tree(c.oid) t JOIN pg_class x ON x.oid = t.relid WHERE t.isleaf) AS estimated_rows
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_class p ON p.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = p.relnamespace
             WHERE c.relispartition AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
             ORDER BY 2""", "x"));

    @Override
    public String id() {
        return "partition.default_rows";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Parent parent : inspection.partitions().parents()) {
            for (Child catchAll : parent.catchAlls()) {
                seen.add(catchAll.name());
                long rows = TimePartitions.rowsIn(inspection, catchAll, COUNT_CAP + 1);
                if (rows > 0) {
                    findings.add(finding(parent.name(), catchAll, rows, timeFix(inspection, parent, catchAll)));
                }
            }
        }
        record Other(String parent, Child child) {
        }
        for (Other other : inspection.list(OTHER_DEFAULTS, row -> new Other(row.getString("parent"),
                new Child(row.getString("name"), row.getString("relname"), true, row.getLong("estimated_rows"), 0,
                        row.getBoolean("readable"), null, null)))) {
            if (seen.contains(other.child().name())) {
                continue;
            }
            long rows = TimePartitions.rowsIn(inspection, other.child(), COUNT_CAP + 1);
            if (rows > 0) {
                findings.add(finding(other.parent(), other.child(), rows, Fix.manual(
                        "-- create the partitions these rows belong to: in one transaction DETACH the DEFAULT partition, "
                                + "CREATE the partitions, INSERT INTO " + other.parent() + " (<its non-generated columns>) "
                                + "SELECT <the same columns> FROM " + other.child().name() + " WHERE <their keys>, DELETE "
                                + "those rows from it, and ATTACH it again AS DEFAULT")));
            }
        }
        return findings;
    }

    private Finding finding(String parent, Child child, long rows, Fix fix) {
        String count = rows > COUNT_CAP ? "more than " + Pretty.count(COUNT_CAP) : Pretty.count(rows);
        return new Finding(id(), Severity.WARNING, child.name(),
                count + " row(s) of " + parent + " sit in its " + child.describe()
                        + ": their periods have no partition, queries on them cannot be pruned, and creating those "
                        + "partitions fails until the rows are moved",
                new Evidence().with("parent", parent).with("partition", child.name())
                        .with("rows", rows > COUNT_CAP ? null : rows).with("rows_at_least", rows > COUNT_CAP ? COUNT_CAP : null)
                        .with("estimated_rows", child.estimatedRows()),
                fix);
    }

    private static Fix timeFix(Inspection inspection, Parent parent, Child catchAll) throws SQLException {
        if (parent.parley()) {
            return Fix.manual("-- Parley cuts months out of its catch-all partitions itself, moving their rows: "
                    + "parley partitions --ensure");
        }
        if (parent.step().isEmpty() || parent.step().get().truncField().isEmpty() || !catchAll.readable()) {
            return Fix.manual("-- create the partitions these rows belong to, then move the rows (see partition.default_rows "
                    + "in docs/doctor.md)");
        }
        Step step = parent.step().get();
        List<Instant> periods = TimePartitions.periodsWithRows(inspection, parent, catchAll, step.truncField().get());
        Instant first = periods.get(0);
        Instant end = step.after(periods.get(periods.size() - 1));
        List<Instant> created = new ArrayList<>(periods);
        String reattach = "DEFAULT";
        if (!catchAll.isDefault()) {
            // an open range must stay contiguous with its neighbours: make every period between it and the rows
            created.clear();
            Instant from = catchAll.upper() == null ? catchAll.lower() : first;
            Instant to = catchAll.upper() == null ? end : catchAll.upper();
            for (Instant p = from; p.isBefore(to) && created.size() < TimePartitions.MAX_BUCKETS; p = step.after(p)) {
                created.add(p);
            }
            first = created.get(0);
            end = step.after(created.get(created.size() - 1));
            reattach = catchAll.upper() == null ? "FOR VALUES FROM (" + parent.literal(end) + ") TO (MAXVALUE)"
                    : "FOR VALUES FROM (MINVALUE) TO (" + parent.literal(first) + ")";
        }
        String range = parent.keyColumn() + " >= " + parent.literal(first) + " AND " + parent.keyColumn() + " < "
                + parent.literal(end);
        List<String> statements = new ArrayList<>();
        statements.add("BEGIN;");
        statements.add("ALTER TABLE " + parent.name() + " DETACH PARTITION " + catchAll.name() + ";");
        created.forEach(p -> statements.add(parent.createPartition(p, step.after(p))));
        // "SELECT *" fails on a generated column, and on an identity column GENERATED ALWAYS without OVERRIDING.
        statements.add(inspection.one(Partitions.WRITABLE_COLUMNS, row -> "INSERT INTO " + parent.name() + " (" + row.getString("columns") + ")"
                + (row.getBoolean("identity_always") ? " OVERRIDING SYSTEM VALUE" : "") + " SELECT " + row.getString("columns")
                + " FROM " + catchAll.name() + " WHERE " + range + ";", parent.name()));
        statements.add("DELETE FROM " + catchAll.name() + " WHERE " + range + ";");
        statements.add("ALTER TABLE " + parent.name() + " ATTACH PARTITION " + catchAll.name() + " " + reattach + ";");
        statements.add("COMMIT;");
        return Fix.manual(statements);
    }
}
