package dev.parley.ops.doctor;

import dev.parley.db.Query;
import dev.parley.ops.doctor.TimePartitions.Child;
import dev.parley.ops.doctor.TimePartitions.Parent;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * partition.retention: partitions whose whole range is older than the table's retention, that is data
 * kept longer than the policy says (a storage cost, and for personal data a compliance problem). The
 * policy comes from pg_partman's part_config when pg_partman manages the table, else from --retention;
 * with neither, the check is skipped. The fix detaches and drops: it deletes data, so it is never automatic.
 * Parley's archived months are judged too: Parley's retention covers them as it covers the hot months
 * (docs/operations.md, Retention), so data kept past the policy is just as much there.
 */
final class PartitionRetention implements Check {
    private static final Query PARTMAN = new Query("doctor.partman_schema", """
            SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_partman'""");

    @Override
    public String id() {
        return "partition.retention";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException, Skipped {
        Map<String, Instant> partmanCutoffs = partmanCutoffs(inspection);
        Optional<Instant> given = inspection.retentionCutoff();
        if (partmanCutoffs.isEmpty() && given.isEmpty()) {
            boolean parleys = inspection.partitions().parents().stream().anyMatch(Parent::parley);
            throw new Skipped(parleys
                    ? "Parley's messages keep each app's own retention ('parley retention' lists it), applied by its "
                            + "daily round; pass --retention (for example 365d) to check the partitions against one cut-off"
                    : "no retention policy is known: pass --retention (for example 365d), "
                            + "or manage the tables with pg_partman and set part_config.retention");
        }
        List<Finding> findings = new ArrayList<>();
        for (Parent parent : Stream.concat(inspection.partitions().parents().stream(),
                inspection.partitions().archives().stream()).toList()) {
            Optional<Instant> cutoff = Optional.ofNullable(partmanCutoffs.get(parent.plainName())).or(() -> given);
            if (cutoff.isEmpty()) {
                continue;
            }
            List<Child> expired = parent.ranges().stream().filter(c -> !c.upper().isAfter(cutoff.get())).toList();
            if (!expired.isEmpty()) {
                findings.add(finding(parent, expired, cutoff.get(), partmanCutoffs.containsKey(parent.plainName())));
            }
        }
        return findings;
    }

    private static Map<String, Instant> partmanCutoffs(Inspection inspection) throws SQLException {
        Map<String, Instant> cutoffs = new HashMap<>();
        Optional<String> schema = inspection.handle().first(PARTMAN, row -> row.getString(1));
        if (schema.isPresent()) {
            // time retention is an interval ('30 days'); id-based retention is a number and does not apply here
            inspection.list(new Query("doctor.partman_retention", "SELECT parent_table, now() - retention::interval AS cutoff FROM "
                    + schema.get() + ".part_config WHERE retention IS NOT NULL AND retention !~ '^[0-9]+$'"),
                    row -> cutoffs.put(row.getString("parent_table"), row.getTimestamp("cutoff").toInstant()));
        }
        return cutoffs;
    }

    private Finding finding(Parent parent, List<Child> expired, Instant cutoff, boolean fromPartman) {
        long rows = expired.stream().mapToLong(Child::estimatedRows).sum();
        long bytes = expired.stream().mapToLong(Child::bytes).sum();
        List<String> statements = new ArrayList<>();
        if (parent.parley()) {
            statements.add("-- on Parley's database prefer its retention (parley retention; docs/operations.md, Retention): "
                    + "it drops these months too and recounts the conversations whose messages go");
        }
        statements.add("-- this deletes data: archive first if it must be kept (pg_dump --table=...)");
        for (Child c : expired) {
            statements.add("ALTER TABLE " + parent.name() + " DETACH PARTITION " + c.name() + ";");
            statements.add("DROP TABLE " + c.name() + ";");
        }
        return new Finding(id(), Severity.WARNING, parent.name(),
                expired.size() + " partition(s) of " + parent.name() + " hold only data older than the retention cut-off "
                        + cutoff + " (" + (fromPartman ? "pg_partman part_config" : "--retention") + "): about "
                        + Pretty.count(rows) + " rows, " + Pretty.bytes(bytes),
                new Evidence().with("retention_cutoff", cutoff.toString())
                        .with("policy_from", fromPartman ? "pg_partman part_config.retention" : "--retention")
                        .with("partitions", expired.stream().map(Child::name).toList())
                        .with("estimated_rows", rows).with("bytes", bytes),
                Fix.manual(statements));
    }
}
