package dev.parley.db;

/**
 * One SQL statement with a stable name. The name labels its latency metric and its slow-query
 * log lines, so an operator can go from a dashboard straight to the SQL.
 */
public record Query(String name, String sql) {
    public Query {
        if (!name.matches("[a-z][a-z0-9_.]*")) {
            throw new IllegalArgumentException("query names are lower_snake.case, got " + name);
        }
    }
}
