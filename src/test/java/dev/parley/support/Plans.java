package dev.parley.support;

import dev.parley.db.Query;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** EXPLAIN for the plan tests: a named query with its arguments, as PostgreSQL would run it. */
public final class Plans {
    private final Connection connection;

    public Plans(Connection connection) {
        this.connection = connection;
    }

    /** The executed plan, with actual row counts and no timings. */
    public String explain(Query query, Object... args) throws SQLException {
        return run("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + query.sql(), args);
    }

    /** EXPLAIN without running the statement, for statements that write. */
    public String explainPlanOnly(Query query, Object... args) throws SQLException {
        return run("EXPLAIN (COSTS OFF) " + query.sql(), args);
    }

    /**
     * The plan of a named prepared statement forced to its generic form, as pgjdbc's server-side
     * prepared statements may get after five executions: the parameters are unknown at plan time.
     */
    public String explainGeneric(Query query, Object... args) throws SQLException {
        return generic("ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF", query, args);
    }

    /** {@link #explainGeneric} without running the statement, for statements that write. */
    public String explainGenericPlanOnly(Query query, Object... args) throws SQLException {
        return generic("COSTS OFF", query, args);
    }

    /** {@link #explainGeneric} with each node's output columns, and tables named with their schema. */
    public String explainGenericVerbose(Query query, Object... args) throws SQLException {
        return generic("ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF", query, args);
    }

    private String generic(String options, Query query, Object... args) throws SQLException {
        String sql = query.numbered().sql();
        String values = Arrays.stream(args).map(Plans::literal).collect(Collectors.joining(", "));
        try (var s = connection.createStatement()) {
            s.execute("SET plan_cache_mode = force_generic_plan");
            s.execute("PREPARE generic AS " + sql);
            try {
                return run("EXPLAIN (" + options + ") EXECUTE generic(" + values + ")");
            } finally {
                s.execute("DEALLOCATE generic");
                s.execute("RESET plan_cache_mode");
            }
        }
    }

    /** A value as EXECUTE takes it: numbers as they are, null as NULL, anything else (text, infinity) quoted. */
    private static String literal(Object value) {
        if (value == null) {
            return "NULL";
        }
        if (value instanceof Number number && Double.isFinite(number.doubleValue())) {
            return number.toString();
        }
        return "'" + String.valueOf(value).replace("'", "''") + "'";
    }

    private String run(String sql, Object... args) throws SQLException {
        try (var s = connection.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            StringBuilder plan = new StringBuilder();
            try (var rows = s.executeQuery()) {
                while (rows.next()) {
                    plan.append(rows.getString(1)).append('\n');
                }
            }
            return plan.toString();
        }
    }
}
