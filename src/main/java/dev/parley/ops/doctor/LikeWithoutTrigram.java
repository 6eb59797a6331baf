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
import java.util.Set;
import java.util.regex.Pattern;

/**
 * query.like_without_trigram: statements that filter a text column of a large table with LIKE or ILIKE
 * and read the whole table, with no trigram index (pg_trgm), full-text index or pattern-ops btree on the
 * column. pg_stat_statements hides the pattern, so a leading '%' cannot be told apart from a prefix; but a
 * leading '%', and ILIKE in any form, can use no btree, and a trigram GIN index serves every pattern.
 */
final class LikeWithoutTrigram implements Check {
    static final Set<String> LIKE = Set.of("~~", "~~*");
    static final Set<String> TEXT = Set.of("text", "character varying", "character", "citext");
    private static final Set<String> TRIGRAM = Set.of("gin_trgm_ops", "gist_trgm_ops");
    private static final Set<String> PATTERN = Set.of("text_pattern_ops", "varchar_pattern_ops", "bpchar_pattern_ops");

    private static final Query PG_TRGM = new Query("doctor.pg_trgm", "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'");

    @Override
    public String id() {
        return "query.like_without_trigram";
    }

    private record Use(Relation relation, Column column, String function, Set<String> operators, Set<Scan> scans) {
        String element() {
            return function == null ? Sql.ident(column.name()) : function + "(" + Sql.ident(column.name()) + ")";
        }
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException, Skipped {
        Workload workload = inspection.workload();
        workload.limits().forEach(inspection::limit);
        Map<String, Use> uses = new LinkedHashMap<>();
        for (Scan scan : workload.scans()) {
            Relation relation = scan.relation();
            if (relation.rows() < SeqScans.LARGE_TABLE_ROWS) {
                continue;
            }
            for (Condition c : scan.conditions()) {
                Column column = relation.columns().get(c.column());
                if (column != null && TEXT.contains(column.type()) && LIKE.contains(c.operator())) {
                    Use use = uses.computeIfAbsent(relation.name() + "." + column.name() + "/" + c.function(), key ->
                            new Use(relation, column, c.function(), new LinkedHashSet<>(), new LinkedHashSet<>()));
                    use.operators().add(c.operator());
                    use.scans().add(scan);
                }
            }
        }
        boolean trigramInstalled = inspection.handle().first(PG_TRGM, row -> true).isPresent();
        List<Finding> findings = new ArrayList<>();
        for (Use use : uses.values()) {
            if (!served(inspection.indexes(), use)) {
                findings.add(finding(use, trigramInstalled));
            }
        }
        return findings;
    }

    /** A trigram or full-text index on the column (or on the same expression), or a pattern-ops btree for plain LIKE. */
    private static boolean served(List<IndexDefinition> indexes, Use use) {
        int attnum = use.column().attnum();
        String name = use.column().name();
        return indexes.stream().filter(i -> i.tableOid() == use.relation().oid() && i.valid()).anyMatch(i -> {
            boolean onExpression = i.expressions() != null && i.expressions().matches("(?s).*\\b" + Pattern.quote(name) + "\\b.*");
            boolean trigram = use.function() == null
                    ? TRIGRAM.stream().anyMatch(op -> i.hasKey(attnum, op))
                    : onExpression && i.expressions().contains(use.function() + "(") && i.opclassNames().stream().anyMatch(TRIGRAM::contains);
            boolean fullText = onExpression && i.expressions().contains("to_tsvector");
            boolean pattern = !use.operators().contains("~~*") && use.function() == null
                    && PATTERN.stream().anyMatch(op -> i.hasKey(attnum, op));
            return trigram || fullText || pattern;
        });
    }

    private Finding finding(Use use, boolean trigramInstalled) {
        Relation relation = use.relation();
        String create = " ON " + relation.name() + " USING gin (" + use.element() + " gin_trgm_ops);";
        Fix fix = relation.partitioned() || !trigramInstalled
                ? Fix.manual("CREATE EXTENSION IF NOT EXISTS pg_trgm;",
                        "CREATE INDEX" + (relation.partitioned() ? "" : " CONCURRENTLY") + create)
                : Fix.automatic("CREATE INDEX CONCURRENTLY" + create);
        String operators = String.join("/", use.operators().stream().map(op -> op.equals("~~") ? "LIKE" : "ILIKE").toList());
        return new Finding(id(), Severity.WARNING, relation.name() + " (" + use.element() + ")",
                "statements filter " + relation.name() + "." + use.element() + " with " + operators + " and read all "
                        + Pretty.count(relation.rows()) + " rows: a pattern with a leading % (and any ILIKE) cannot use a "
                        + "btree; a trigram GIN index serves every pattern",
                new Evidence().with("operators", operators).with("table_rows", relation.rows())
                        .with("pattern_visible", "no: pg_stat_statements records the pattern as a parameter")
                        .with("statements", StatementEvidence.of(use.scans())),
                fix);
    }
}
