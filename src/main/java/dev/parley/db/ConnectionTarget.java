package dev.parley.db;

import java.util.Properties;

/** Where the pool connects: a JDBC URL and optional credentials. */
public record ConnectionTarget(String jdbcUrl, String user, String password) {
    /**
     * pgjdbc's properties for a connection of its own beside the pool, named {@code applicationName} in
     * pg_stat_activity: the credentials, and a connect and login that give up after {@code timeoutSeconds}, so that
     * one which cannot finish is tried again instead of leaving what it watches stale.
     */
    public Properties connectionProperties(String applicationName, int timeoutSeconds) {
        var properties = new Properties();
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("ApplicationName", applicationName);
        properties.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        properties.setProperty("loginTimeout", String.valueOf(timeoutSeconds));
        return properties;
    }

    /** host:port/database of the URL, without its options: what a message or a metric names it by. */
    public String where() {
        String rest = jdbcUrl.replaceFirst("^jdbc:postgresql://", "");
        int options = rest.indexOf('?');
        return options < 0 ? rest : rest.substring(0, options);
    }
}
