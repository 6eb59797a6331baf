package dev.parley.ops.doctor;

import dev.parley.db.Query;
import dev.parley.ops.doctor.Workload.Column;
import dev.parley.ops.doctor.Workload.Condition;
import dev.parley.ops.doctor.Workload.Relation;
import dev.parley.ops.doctor.Workload.Scan;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * query.seq_scan: statements that read a table of {@value #LARGE_TABLE_ROWS} rows or more from end to end
 * to find a few rows, for want of an index on the columns their filter compares. The suggested btree
 * index puts equality columns first and one range column last. It is not suggested when an index already
 * leads with one of those columns, when ANALYZE says the equality matches more than a tenth of the table,
 * or, where HypoPG is installed, when the hypothetical index does not cut the plan's cost by
 * {@value #REQUIRED_SAVING_PERCENT}%. Without pg_stat_statements, tables scanned this way are only named (info).
 */
final class SeqScans implements Check {
    static final long LARGE_TABLE_ROWS = 10_000;
    static final long MIN_TABLE_SEQ_SCANS = 50;
    static final double UNSELECTIVE = 0.1;
    static final int REQUIRED_SAVING_PERCENT = 30;
    private static final Set<String> EQUALITY = Set.of("=", "IS NULL");
    private static final Set<String> RANGE = Set.of("<", ">", "<=", ">=");
    private static final Set<String> NO_BTREE = Set.of("json", "jsonb", "xml", "point", "box", "polygon", "circle",
            "line", "lseg", "path", "tsvector", "tsquery");

    private static final Query SCANNED_TABLES = new Query("doctor.seq_scanned_tables", RowEstimate.in("""
            SELECT format('%I.%I', s.schemaname, s.relname) AS table_name, s.seq_scan, s.seq_tup_read,
                   coalesce(s.idx_scan, 0) AS idx_scan, :rows(c)::bigint AS table_rows
              FROM pg_stat_user_tables s
              JOIN pg_class c ON c.oid = s.relid
             WHERE :rows(c) >= ? AND s.seq_scan >= ?
               AND s.seq_tup_read >= s.seq_scan * :rows(c) / 2
               AND coalesce(s.idx_scan, 0) < 19 * s.seq_scan
             ORDER BY s.seq_tup_read DESC""", "c"));

    @Override
    public String id() {
        return "query.seq_scan";
    }

    private record Suggestion(Relation relation, List<Column> columns, Set<Scan> scans) {
        String indexStatement(boolean concurrently) {
            return "CREATE INDEX" + (concurrently ? " CONCURRENTLY" : "") + " ON " + relation.name() + " ("
                    + String.join(", ", columns.stream().map(c -> Sql.ident(c.name())).toList()) + ");";
        }

        Scan heaviest() {
            return scans.stream().max((a, b) -> Double.compare(a.statement().totalMillis(), b.statement().totalMillis())).orElseThrow();
        }
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Workload workload;
        try {
            workload = inspection.workload();
        } catch (Skipped e) {
            inspection.limit(e.getMessage() + "; tables are named from their scan counters only, without the statements");
            return fromCounters(inspection);
        }
        workload.limits().forEach(inspection::limit);
        Map<String, Suggestion> suggestions = new LinkedHashMap<>();
        for (Scan scan : workload.scans()) {
            Relation relation = scan.relation();
            if (relation.rows() < LARGE_TABLE_ROWS || scan.hasOr()) {
                continue;
            }
            List<Column> columns = columns(scan);
            if (columns.isEmpty() || alreadyIndexed(inspection, relation, columns) || unselective(scan, columns)) {
                continue;
            }
            suggestions.computeIfAbsent(relation.name() + columns, key -> new Suggestion(relation, columns, new LinkedHashSet<>()))
                    .scans().add(scan);
        }
        Optional<Hypothetical> hypothetical = Hypothetical.open(inspection);
        if (hypothetical.isEmpty() && !suggestions.isEmpty()) {
            inspection.limit("suggested indexes are not cost-confirmed: HypoPG is not installed (CREATE EXTENSION hypopg)");
        }
        List<Finding> findings = new ArrayList<>();
        for (Suggestion suggestion : suggestions.values()) {
            confirm(inspection, hypothetical, suggestion).ifPresent(evidence -> findings.add(finding(suggestion, evidence)));
        }
        return findings;
    }

    /** Equality columns in filter order, then the first range column: the btree the filter can use. */
    private static List<Column> columns(Scan scan) {
        Map<String, Column> all = scan.relation().columns();
        List<Column> equal = new ArrayList<>();
        List<Column> range = new ArrayList<>();
        for (Condition c : scan.conditions()) {
            Column column = all.get(c.column());
            if (column == null || c.function() != null || NO_BTREE.contains(column.type()) || column.type().endsWith("[]")) {
                continue;
            }
            if (EQUALITY.contains(c.operator()) && !equal.contains(column)) {
                equal.add(column);
            } else if (RANGE.contains(c.operator()) && !range.contains(column)) {
                range.add(column);
            }
        }
        range.removeAll(equal);
        List<Column> columns = new ArrayList<>(equal);
        range.stream().findFirst().ifPresent(columns::add);
        return columns;
    }

    /** An existing valid, non-partial btree index already leads with one of the columns: another one would not change the plan. */
    private static boolean alreadyIndexed(Inspection inspection, Relation relation, List<Column> columns) throws SQLException {
        return inspection.indexes().stream().anyMatch(i -> i.tableOid() == relation.oid() && i.valid()
                && i.method().equals("btree") && i.predicate() == null
                && columns.stream().anyMatch(c -> c.attnum() == i.leadingKey()));
    }

    private static boolean unselective(Scan scan, List<Column> columns) {
        boolean hasRange = scan.conditions().stream().anyMatch(c -> RANGE.contains(c.operator()));
        double selectivity = 1;
        for (Column c : columns) {
            Optional<Double> s = c.equalitySelectivity(scan.relation().rows());
            if (s.isEmpty()) {
                return false; // no statistics: give the suggestion the benefit of the doubt
            }
            selectivity *= s.get();
        }
        return !hasRange && selectivity > UNSELECTIVE;
    }

    /** With HypoPG: the evidence that the index cuts the plan's cost, or nothing if it does not. Without: no costs. */
    private static Optional<Evidence> confirm(Inspection inspection, Optional<Hypothetical> hypothetical, Suggestion suggestion)
            throws SQLException {
        Evidence evidence = new Evidence();
        if (hypothetical.isEmpty()) {
            return Optional.of(evidence.with("cost_confirmed", "no: HypoPG is not installed"));
        }
        if (suggestion.relation().partitioned()) {
            return Optional.of(evidence.with("cost_confirmed", "no: HypoPG does not simulate indexes on partitioned tables"));
        }
        Scan heaviest = suggestion.heaviest();
        Workload.Plan with = hypothetical.get().planWith(suggestion.indexStatement(false), heaviest.statement().text());
        double before = heaviest.statement().cost();
        if (with.seqScans(suggestion.relation()) || with.cost() > before * (100 - REQUIRED_SAVING_PERCENT) / 100) {
            inspection.limit("a suggested index on " + suggestion.relation().name() + " was dropped: HypoPG showed it would "
                    + "not cut the plan cost by " + REQUIRED_SAVING_PERCENT + "%");
            return Optional.empty();
        }
        return Optional.of(evidence.with("cost_confirmed", "yes: HypoPG").with("plan_cost_now", before)
                .with("plan_cost_with_index", with.cost()));
    }

    private Finding finding(Suggestion suggestion, Evidence evidence) {
        Relation relation = suggestion.relation();
        String columns = String.join(", ", suggestion.columns().stream().map(Column::name).toList());
        long calls = suggestion.scans().stream().mapToLong(s -> s.statement().calls()).sum();
        Fix fix = relation.partitioned() ? Fix.manual(suggestion.indexStatement(false))
                : Fix.automatic(suggestion.indexStatement(true));
        return new Finding(id(), Severity.WARNING, relation.name() + " (" + columns + ")",
                suggestion.scans().size() + " statement(s), called " + Pretty.count(calls) + " times, read all "
                        + Pretty.count(relation.rows()) + " rows of " + relation.name() + " to filter on " + columns
                        + ": an index on (" + columns + ") lets them read only the matching rows",
                evidence.with("table_rows", relation.rows()).with("table_seq_scans", relation.seqScans())
                        .with("table_seq_rows_read", relation.seqRowsRead())
                        .with("statements", StatementEvidence.of(suggestion.scans())),
                fix);
    }

    private List<Finding> fromCounters(Inspection inspection) throws SQLException {
        return inspection.list(SCANNED_TABLES, row -> {
            String table = row.getString("table_name");
            long seqScans = row.getLong("seq_scan");
            return new Finding(id(), Severity.INFO, table,
                    table + " (" + Pretty.count(row.getLong("table_rows")) + " rows) was read end to end " + Pretty.count(seqScans)
                            + " times against " + Pretty.count(row.getLong("idx_scan")) + " index scans; "
                            + "install pg_stat_statements to see which statements and which columns want an index",
                    new Evidence().with("table_rows", row.getLong("table_rows")).with("seq_scans", seqScans)
                            .with("seq_rows_read", row.getLong("seq_tup_read")).with("index_scans", row.getLong("idx_scan")),
                    Fix.none());
        }, LARGE_TABLE_ROWS, MIN_TABLE_SEQ_SCANS);
    }
}
