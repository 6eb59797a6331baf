package dev.parley.db;

/**
 * One SQL statement with a stable name. The name labels its latency metric and its slow-query
 * log lines, so an operator can go from a dashboard straight to the SQL.
 *
 * <p>{@code planEachTime} keeps the statement from becoming a server-side prepared statement, whose
 * generic plan PostgreSQL may reuse without looking at the values: right for a query whose best
 * plan depends on them (how common a searched word is), at the price of planning every call.
 */
public record Query(String name, String sql, boolean planEachTime) {
    public Query {
        if (!name.matches("[a-z][a-z0-9_.]*")) {
            throw new IllegalArgumentException("query names are lower_snake.case, got " + name);
        }
    }

    public Query(String name, String sql) {
        this(name, sql, false);
    }

    /** This statement, planned for its values on every call. */
    public Query plannedEachTime() {
        return new Query(name, sql, true);
    }
}
