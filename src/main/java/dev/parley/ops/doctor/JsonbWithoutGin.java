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

/**
 * query.jsonb_without_gin: statements that filter a JSONB column of a large table with an operator GIN
 * can serve (@>, ?, ?|, ?&, @?, @@) and read the whole table, because no GIN index on that column supports
 * those operators. jsonb_path_ops is suggested when only @>, @? and @@ are used (smaller and faster than
 * the default jsonb_ops, which is needed for the key-exists operators). With btree_gin installed, the
 * equality columns of the same filters (a tenant id) lead the index, as Parley's own characters index does.
 */
final class JsonbWithoutGin implements Check {
    static final Set<String> GIN_OPERATORS = Set.of("@>", "?", "?|", "?&", "@?", "@@");
    static final Set<String> PATH_OPS_OPERATORS = Set.of("@>", "@?", "@@");

    private static final Query BTREE_GIN = new Query("doctor.btree_gin", "SELECT 1 FROM pg_extension WHERE extname = 'btree_gin'");

    @Override
    public String id() {
        return "query.jsonb_without_gin";
    }

    private record Use(Relation relation, Column column, Set<String> operators, Set<Column> equalities, Set<Scan> scans) {
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
                if (column == null || !column.type().equals("jsonb") || !GIN_OPERATORS.contains(c.operator())) {
                    continue;
                }
                Use use = uses.computeIfAbsent(relation.name() + "." + column.name(), key -> new Use(relation, column,
                        new LinkedHashSet<>(), new LinkedHashSet<>(), new LinkedHashSet<>()));
                use.operators().add(c.operator());
                use.scans().add(scan);
                scan.conditions().stream().filter(e -> e.operator().equals("=") && e.function() == null)
                        .map(e -> relation.columns().get(e.column()))
                        .filter(e -> e != null && !e.type().startsWith("json"))
                        .forEach(use.equalities()::add);
            }
        }
        boolean btreeGin = inspection.handle().first(BTREE_GIN, row -> true).isPresent();
        List<Finding> findings = new ArrayList<>();
        for (Use use : uses.values()) {
            boolean pathOps = PATH_OPS_OPERATORS.containsAll(use.operators());
            List<IndexDefinition> gin = inspection.indexes().stream().filter(i -> i.tableOid() == use.relation().oid()
                    && i.valid() && i.method().equals("gin") && i.hasKey(use.column().attnum(), null)).toList();
            boolean served = gin.stream().anyMatch(i -> i.hasKey(use.column().attnum(), "jsonb_ops")
                    || pathOps && i.hasKey(use.column().attnum(), "jsonb_path_ops"));
            if (!served) {
                findings.add(finding(use, pathOps, btreeGin, gin));
            }
        }
        if (!findings.isEmpty()) {
            inspection.limit("GIN suggestions are not cost-confirmed: HypoPG cannot simulate GIN indexes");
        }
        return findings;
    }

    private Finding finding(Use use, boolean pathOps, boolean btreeGin, List<IndexDefinition> existing) {
        Relation relation = use.relation();
        String column = Sql.ident(use.column().name());
        List<String> leading = btreeGin ? use.equalities().stream().map(c -> Sql.ident(c.name()) + ", ").toList() : List.of();
        String elements = String.join("", leading) + column + (pathOps ? " jsonb_path_ops" : "");
        String create = " ON " + relation.name() + " USING gin (" + elements + ");";
        Fix fix = relation.partitioned() ? Fix.manual("CREATE INDEX" + create) : Fix.automatic("CREATE INDEX CONCURRENTLY" + create);
        String why = existing.isEmpty() ? "no GIN index covers it"
                : "its GIN index " + existing.get(0).name() + " uses jsonb_path_ops, which cannot serve " + use.operators();
        return new Finding(id(), Severity.WARNING, relation.name() + " (" + use.column().name() + ")",
                "statements filter " + relation.name() + "." + use.column().name() + " with " + String.join(" ", use.operators())
                        + " and read all " + Pretty.count(relation.rows()) + " rows: " + why
                        + (pathOps ? "; only containment-style operators are used, so jsonb_path_ops suffices" : ""),
                new Evidence().with("operators", List.copyOf(use.operators()))
                        .with("operator_class", pathOps ? "jsonb_path_ops" : "jsonb_ops")
                        .with("table_rows", relation.rows())
                        .with("existing_gin_indexes", existing.stream().map(IndexDefinition::definition).toList())
                        .with("statements", StatementEvidence.of(use.scans())),
                fix);
    }
}
