package dev.parley.db;

/** Where the pool connects: a JDBC URL and optional credentials. */
public record ConnectionTarget(String jdbcUrl, String user, String password) {
}
