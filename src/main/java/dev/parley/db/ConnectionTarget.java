package dev.parley.db;

/** Where the pool connects: a JDBC URL and optional credentials. */
public record ConnectionTarget(String jdbcUrl, String user, String password) {
    /** host:port/database of the URL, without its options: what a message or a metric names it by. */
    public String where() {
        String rest = jdbcUrl.replaceFirst("^jdbc:postgresql://", "");
        int options = rest.indexOf('?');
        return options < 0 ? rest : rest.substring(0, options);
    }
}
