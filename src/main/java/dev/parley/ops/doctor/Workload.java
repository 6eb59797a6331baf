package dev.parley.ops.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.db.Query;
import dev.parley.json.Json;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the application actually runs, and how: the statements pg_stat_statements recorded for this
 * database (top {@value #MAX_STATEMENTS} by total time, called at least {@value #MIN_CALLS} times), each
 * re-planned here as a generic plan (PREPARE with plan_cache_mode = force_generic_plan, then EXPLAIN, in a
 * read-only transaction: nothing executes) and reduced to the sequential scans it does with their
 * filters. pg_stat_statements replaces constants with $n, so the plan is the one for unknown values,
 * and a LIKE pattern's leading '%' cannot be seen.
 */
final class Workload {
    static final int MIN_CALLS = 10;
    static final int MAX_STATEMENTS = 200;
    private static final String PROBE = "parley_doctor_probe";

    private static final Query EXTENSION = new Query("doctor.pg_stat_statements_schema", """
            SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_stat_statements'""");

    private static final Query RELATION = new Query("doctor.workload_relation", RowEstimate.in(RowEstimate.in("""
            SELECT r.oid::bigint AS oid, format('%I.%I', rn.nspname, r.relname) AS name, rn.nspname, r.relname,
                   r.relkind = 'p' AS partitioned,
                   coalesce((SELECT sum(:rows(x)) FROM pg_partition_tree(r.oid) t JOIN pg_class x ON x.oid = t.relid
                              WHERE t.isleaf), :rows(r))::bigint AS table_rows,
                   coalesce((SELECT sum(s.seq_scan) FROM pg_partition_tree(r.oid) t JOIN pg_stat_user_tables s ON s.relid = t.relid),
                            pg_stat_get_numscans(r.oid)) AS seq_scans,
                   coalesce((SELECT sum(s.seq_tup_read) FROM pg_partition_tree(r.oid) t JOIN pg_stat_user_tables s ON s.relid = t.relid),
                            (SELECT s.seq_tup_read FROM pg_stat_user_tables s WHERE s.relid = r.oid)) AS seq_rows_read
              FROM pg_class c
              JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
              JOIN pg_namespace rn ON rn.oid = r.relnamespace
             WHERE c.oid = to_regclass(format('%I.%I', ?, ?))""", "x"), "r"));

    private static final Query COLUMNS = new Query("doctor.workload_columns", """
            SELECT a.attnum, a.attname, format_type(a.atttypid, NULL) AS type, s.n_distinct
              FROM pg_attribute a
              LEFT JOIN pg_stats s ON s.schemaname = ? AND s.tablename = ? AND s.attname = a.attname AND s.inherited = ?
             WHERE a.attrelid = ?::oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum""");

    // A column compared by an operator in a deparsed filter: "(t.customer_id = $1)", "(lower(t.body) ~~ $2)",
    // "((t.status)::text = $1)", "(t.data @> $1)", "(t.deleted_at IS NULL)". Quoted names are kept quoted.
    private static final Pattern CONDITION = Pattern.compile(
            "(?<![\\w.:'\"$])(?:(?<fn>lower|upper)\\()?(?:(?:\"(?:[^\"]|\"\")+\"|[A-Za-z_][\\w$]*)\\.)?"
                    + "(?<col>\"(?:[^\"]|\"\")+\"|[A-Za-z_][\\w$]*)\\)*(?:::[a-z ]+(?:\\[\\])?\\)*)?\\s+"
                    + "(?<op>IS NOT NULL|IS NULL|<>|<=|>=|<@|<|>|=|~~\\*|~~|!~~\\*|!~~|@>|\\?\\||\\?&|@\\?|@@|\\?)(?=[\\s)])");
    private static final Pattern PARAMETER = Pattern.compile("\\$(\\d+)");

    /** A statement as pg_stat_statements recorded it, with the estimated cost of its generic plan. */
    record Statement(String text, long calls, double totalMillis, double meanMillis, double cost) {
        String shortText() {
            String one = text.replaceAll("\\s+", " ").strip();
            return one.length() > 160 ? one.substring(0, 157) + "..." : one;
        }
    }

    /** A column the filter compares; {@code function} is lower or upper when the column is wrapped in one. */
    record Condition(String column, String operator, String function) {
    }

    record Column(int attnum, String name, String type, Double distinct) {
        /** The share of rows one equality match returns, when ANALYZE has measured the column. */
        Optional<Double> equalitySelectivity(long rows) {
            if (distinct == null || distinct == 0) {
                return Optional.empty();
            }
            double values = distinct > 0 ? distinct : -distinct * Math.max(1, rows);
            return Optional.of(1 / Math.max(1, values));
        }
    }

    /** A table (a partitioned table's root, for a partition) with its columns and scan counters. */
    record Relation(long oid, String name, String schema, String relname, boolean partitioned, long rows, long seqScans,
                    long seqRowsRead, Map<String, Column> columns) {
    }

    /** One sequential scan a statement's plan does, with the conditions of its filter. */
    record Scan(Statement statement, Relation relation, List<Condition> conditions, boolean hasOr, String filter) {
    }

    /** A generic plan: its total cost and the sequential scans in it, by schema-qualified table. */
    record Plan(double cost, List<RawScan> scans) {
        boolean seqScans(Relation relation) {
            return scans.stream().anyMatch(s -> s.schema().equals(relation.schema()) && s.relation().equals(relation.relname()));
        }
    }

    record RawScan(String schema, String relation, String filter) {
    }

    private final List<Scan> scans;
    private final List<String> limits;

    private Workload(List<Scan> scans, List<String> limits) {
        this.scans = scans;
        this.limits = limits;
    }

    List<Scan> scans() {
        return scans;
    }

    /** What the workload analysis could not see, for every check built on it to report. */
    List<String> limits() {
        return limits;
    }

    static Workload read(Inspection inspection) throws SQLException, Skipped {
        String schema = inspection.handle().first(EXTENSION, row -> row.getString(1)).orElseThrow(() -> new Skipped(
                "pg_stat_statements is not installed in this database: CREATE EXTENSION pg_stat_statements "
                        + "(the server must also have it in shared_preload_libraries)"));
        List<Statement> statements = statements(inspection, schema);
        List<String> limits = new ArrayList<>();
        Map<String, Integer> failures = new LinkedHashMap<>();
        Map<String, Optional<Relation>> relations = new HashMap<>();
        List<Scan> scans = new ArrayList<>();
        for (Statement statement : statements) {
            if (statement.text().strip().replaceFirst(";\\s*$", "").contains(";")) {
                // the text is planned as sent: anything after a ';' would run as a statement of its own
                failures.merge("text with more than one statement", 1, Integer::sum);
                continue;
            }
            Plan plan;
            try {
                plan = explain(inspection, statement.text());
            } catch (SQLException e) {
                failures.merge(reason(e), 1, Integer::sum);
                continue;
            }
            Statement costed = new Statement(statement.text(), statement.calls(), statement.totalMillis(),
                    statement.meanMillis(), plan.cost());
            for (RawScan raw : plan.scans()) {
                Optional<Relation> relation = relations.computeIfAbsent(raw.schema() + "." + raw.relation(),
                        key -> relation(inspection, raw));
                relation.ifPresent(r -> scans.add(new Scan(costed, r, conditions(raw.filter()),
                        raw.filter().contains(" OR "), raw.filter())));
            }
        }
        failures.forEach((reason, count) -> limits.add(count + " recorded statement(s) could not be planned here (" + reason + ")"));
        long hidden = hiddenStatements(inspection, schema);
        if (hidden > 0) {
            limits.add(hidden + " statement(s) of other roles are hidden from this role: grant it pg_read_all_stats "
                    + "(pg_monitor includes it)");
        }
        return new Workload(scans, limits);
    }

    private static List<Statement> statements(Inspection inspection, String schema) throws SQLException, Skipped {
        Query query = new Query("doctor.workload_statements", "SELECT query, calls, total_exec_time, mean_exec_time FROM "
                + schema + """
                .pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls >= ?
                   AND query ~* '^\\s*(select|with|update|delete)\\M'
                   AND query !~* '\\m(pg_catalog|information_schema|pg_stat_\\w+|pg_statio_\\w+|pg_class|pg_index|pg_namespace|pg_attribute|pg_settings|pg_locks|pg_database|pg_inherits|pg_constraint|pg_sequences|pg_replication_slots|pg_partition_tree|pg_extension|pg_roles|pg_am|pg_opclass)\\M'
                 ORDER BY total_exec_time DESC
                 LIMIT ?""");
        try {
            return inspection.list(query, row -> new Statement(row.getString("query"), row.getLong("calls"),
                    row.getDouble("total_exec_time"), row.getDouble("mean_exec_time"), 0), MIN_CALLS, MAX_STATEMENTS);
        } catch (SQLException e) {
            if ("55000".equals(e.getSQLState())) { // "pg_stat_statements must be loaded via shared_preload_libraries"
                throw new Skipped(e.getMessage());
            }
            throw e;
        }
    }

    private static long hiddenStatements(Inspection inspection, String schema) throws SQLException {
        return inspection.one(new Query("doctor.workload_hidden", "SELECT count(*) FROM " + schema
                + ".pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                + " AND query = '<insufficient privilege>'"), row -> row.getLong(1));
    }

    private static String reason(SQLException e) {
        return switch (e.getSQLState() == null ? "" : e.getSQLState()) {
            case "42501" -> "permission denied: grant this role SELECT on the tables, or run the doctor as their owner";
            case "42P01" -> "a table no longer exists";
            case "55P03", "57014" -> "a lock or the statement timeout stopped the planning";
            default -> "temporary tables, truncated statement text or objects since changed";
        };
    }

    /** Plans {@code text} as a generic plan without running it, and lists its sequential scans. */
    static Plan explain(Inspection inspection, String text) throws SQLException {
        Connection connection = inspection.handle().connection();
        int parameters = PARAMETER.matcher(text).results().mapToInt(m -> Integer.parseInt(m.group(1))).max().orElse(0);
        String arguments = parameters == 0 ? "" : "(" + String.join(", ", Collections.nCopies(parameters, "NULL")) + ")";
        connection.setAutoCommit(false);
        boolean prepared = false;
        try (java.sql.Statement statement = connection.createStatement()) {
            statement.setEscapeProcessing(false);
            statement.execute("SET TRANSACTION READ ONLY");
            statement.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            statement.execute("PREPARE " + PROBE + " AS " + text);
            prepared = true;
            try (ResultSet rows = statement.executeQuery("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE " + PROBE + arguments)) {
                rows.next();
                JsonNode plan = Json.parse(rows.getString(1)).get(0).get("Plan");
                List<RawScan> scans = new ArrayList<>();
                collect(plan, scans);
                return new Plan(plan.get("Total Cost").asDouble(), scans);
            }
        } finally {
            connection.rollback();
            connection.setAutoCommit(true);
            if (prepared) { // prepared statements outlive the transaction that made them
                try (java.sql.Statement statement = connection.createStatement()) {
                    statement.execute("DEALLOCATE " + PROBE);
                }
            }
        }
    }

    private static void collect(JsonNode node, List<RawScan> scans) {
        if ("Seq Scan".equals(node.path("Node Type").asText()) && node.has("Filter")) {
            scans.add(new RawScan(node.path("Schema").asText(), node.path("Relation Name").asText(), node.get("Filter").asText()));
        }
        for (JsonNode child : node.path("Plans")) {
            collect(child, scans);
        }
    }

    private static Optional<Relation> relation(Inspection inspection, RawScan raw) {
        try {
            return inspection.handle().first(RELATION, row -> {
                long oid = row.getLong("oid");
                boolean partitioned = row.getBoolean("partitioned");
                Map<String, Column> columns = new LinkedHashMap<>();
                for (Column c : inspection.list(COLUMNS, r -> new Column(r.getInt("attnum"), r.getString("attname"),
                        r.getString("type"), r.getObject("n_distinct") == null ? null : r.getDouble("n_distinct")),
                        row.getString("nspname"), row.getString("relname"), partitioned, oid)) {
                    columns.put(c.name(), c);
                }
                return new Relation(oid, row.getString("name"), row.getString("nspname"), row.getString("relname"),
                        partitioned, row.getLong("table_rows"),
                        row.getLong("seq_scans"), row.getLong("seq_rows_read"), columns);
            }, raw.schema(), raw.relation());
        } catch (SQLException e) {
            return Optional.empty();
        }
    }

    static List<Condition> conditions(String filter) {
        List<Condition> conditions = new ArrayList<>();
        Matcher m = CONDITION.matcher(filter);
        while (m.find()) {
            String column = m.group("col");
            if (column.startsWith("\"")) {
                column = column.substring(1, column.length() - 1).replace("\"\"", "\"");
            }
            String function = m.group("fn") == null ? null : m.group("fn").toLowerCase(Locale.ROOT);
            conditions.add(new Condition(column, m.group("op"), function));
        }
        return conditions;
    }
}
