package dev.parley.config;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Whether DATABASE_URL reaches PostgreSQL through a PgBouncer in transaction pool mode (PARLEY_PGBOUNCER):
 * then each transaction may run on another server connection, so the request pool keeps nothing in a
 * session, and what needs one connects to PARLEY_DIRECT_DATABASE_URL. docs/operations.md, "PgBouncer".
 */
public enum PgBouncer {
    /** No PgBouncer, or one in session mode: every connection is a session of its own. */
    OFF,
    /** PgBouncer's pool_mode = transaction: a server connection is lent for one transaction. */
    TRANSACTION;

    private static final String ENV = "PARLEY_PGBOUNCER";
    private static final Pattern PREPARE_THRESHOLD = Pattern.compile("(?i)[?&]prepareThreshold=(-?\\d+)");

    static PgBouncer parse(Optional<String> raw) {
        return switch (raw.map(value -> value.toLowerCase(Locale.ROOT)).orElse("off")) {
            case "off" -> OFF;
            case "transaction" -> TRANSACTION;
            default -> throw new InvalidSetting(null, ENV, "must be off or transaction (PgBouncer's pool_mode; session mode "
                    + "needs no setting, statement mode cannot run Parley's transactions), got '" + raw.orElseThrow() + "'");
        };
    }

    /**
     * Refuses what cannot work: a direct URL beside the embedded PostgreSQL; in transaction mode, no direct URL
     * for the sessions, or a DATABASE_URL that asks for server-side prepared statements.
     */
    void check(Optional<DatabaseUrl> databaseUrl, Optional<DatabaseUrl> direct) {
        if (direct.isPresent() && databaseUrl.isEmpty()) {
            throw new InvalidSetting(null, "PARLEY_DIRECT_DATABASE_URL", "is set, but DATABASE_URL is not: the embedded "
                    + "PostgreSQL is reached directly already");
        }
        if (this == OFF) {
            return;
        }
        if (databaseUrl.isEmpty()) {
            throw new InvalidSetting(null, ENV, "is transaction, but DATABASE_URL is not set: it names the PgBouncer, "
                    + "the embedded PostgreSQL has none in front of it");
        }
        if (direct.isEmpty()) {
            throw new InvalidSetting(null, ENV, "is transaction, so PARLEY_DIRECT_DATABASE_URL must name PostgreSQL itself: "
                    + "LISTEN/NOTIFY, migrations and the retention lock need a session, which PgBouncer lends for one "
                    + "transaction only");
        }
        if (server(databaseUrl.get()).equals(server(direct.get()))) { // the lock and statement budgets would be lost for nothing
            throw new InvalidSetting(null, ENV, "is transaction, but DATABASE_URL and PARLEY_DIRECT_DATABASE_URL name the same "
                    + "server (" + server(direct.get()) + "): DATABASE_URL must name the PgBouncer, the direct URL PostgreSQL "
                    + "itself; without a PgBouncer leave " + ENV + " unset");
        }
        var threshold = PREPARE_THRESHOLD.matcher(databaseUrl.get().jdbcUrl());
        if (threshold.find() && !threshold.group(1).equals("0")) {
            throw new InvalidSetting("--database-url", "DATABASE_URL", "sets prepareThreshold=" + threshold.group(1)
                    + ", but behind PgBouncer in transaction mode (" + ENV + ") it must be 0: a statement prepared on one "
                    + "server connection does not exist on the next");
        }
    }

    /** Where a URL connects: its host, port and database, without its parameters. */
    private static String server(DatabaseUrl url) {
        String jdbc = url.jdbcUrl().substring("jdbc:postgresql://".length());
        return jdbc.contains("?") ? jdbc.substring(0, jdbc.indexOf('?')) : jdbc;
    }

    /**
     * The request pool's JDBC URL: in transaction mode with {@code prepareThreshold=0}, so pgjdbc never names a
     * server-side prepared statement (it would by a statement's fifth run, and the next transaction may go to a
     * server connection that never saw it: "prepared statement S_1 does not exist").
     */
    public String poolUrl(String jdbcUrl) {
        if (this == OFF) {
            return jdbcUrl;
        }
        return jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "prepareThreshold=0";
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
