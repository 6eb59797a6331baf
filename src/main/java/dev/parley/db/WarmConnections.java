package dev.parley.db;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.util.Collections;
import java.util.List;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.slf4j.LoggerFactory;

/**
 * Plans the statements a request is likely to run on each new connection, before the pool hands it out.
 * A backend's first plan of a statement over the monthly partitions reads every partition's and index's
 * catalog entries into that backend's caches: on the 2M bench dataset (18 partitions) the first plans of these
 * statements took 104 ms on a new connection and the same plans 56 ms again (a history page 20 against 3 ms;
 * docs/benchmarks.md, "Connections that arrive warm"). The pool opens its connections at start and replaces
 * each every 30 minutes (HikariCP's maxLifetime), and the first requests on each new one waited for that.
 *
 * <p>Each statement is prepared with NULL for every parameter and explained on a generic plan, which plans it
 * for every partition without running it. One that fails (a schema older than this build's) is skipped, and the
 * connection serves as it would have cold.
 */
final class WarmConnections implements DataSource {
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(WarmConnections.class);
    private static final String NAME = "parley_warmup";

    private final DataSource connections;
    private final List<Query> statements;

    /** New connections from {@code connections}, each having planned {@code statements} once. */
    WarmConnections(DataSource connections, List<Query> statements) {
        this.connections = connections;
        this.statements = List.copyOf(statements);
    }

    @Override
    public Connection getConnection() throws SQLException {
        return warmed(connections.getConnection());
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
        return warmed(connections.getConnection(user, password));
    }

    private Connection warmed(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            if (!schemaIsThere(statement)) {
                return connection; // a database being created or migrated: it serves cold
            }
            int planned = plan(statement, statements);
            if (planned < statements.size()) {
                LOG.debug("{} of {} statements could not be planned on a new connection", statements.size() - planned,
                        statements.size());
            }
            return connection;
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * Whether the tables are there and nobody is changing them: while Flyway migrates (it holds an advisory lock),
     * planning an append would lock messages and then conversations, the other order from a migration's
     * CREATE TRIGGERs on them, and one of the two would die of a deadlock (seen: V10 on a fresh database).
     */
    private static boolean schemaIsThere(Statement statement) throws SQLException {
        try (var row = statement.executeQuery("""
                SELECT to_regclass('messages') IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid())""")) {
            return row.next() && row.getBoolean(1);
        }
    }

    /** Plans each of {@code statements} once on a generic plan; returns how many PostgreSQL could plan. */
    static int plan(Statement statement, List<Query> statements) throws SQLException {
        statement.execute("SET plan_cache_mode = force_generic_plan");
        int planned = 0;
        for (Query query : statements) {
            planned += plan(statement, query) ? 1 : 0;
        }
        statement.execute("RESET plan_cache_mode");
        return planned;
    }

    /** Plans {@code query} once; false when PostgreSQL would not. */
    private static boolean plan(Statement statement, Query query) throws SQLException {
        Query.Numbered numbered = query.numbered();
        try {
            // pg_stat_statements can keep the PREPARE as the statement's text (the first it saw, with track_planning
            // on): led by the statement's name, it still says which of Parley's statements the row is (monitor, doctor).
            statement.execute("/* " + query.name() + " */ PREPARE " + NAME + " AS " + numbered.sql());
        } catch (SQLException e) {
            return false;
        }
        try {
            statement.execute("EXPLAIN EXECUTE " + NAME + nullArguments(numbered.parameters()));
            return true;
        } catch (SQLException e) {
            return false;
        } finally {
            statement.execute("DEALLOCATE " + NAME);
        }
    }

    /** "(NULL, NULL)" for two parameters; "" for none. */
    private static String nullArguments(int parameters) {
        return parameters == 0 ? "" : "(" + String.join(", ", Collections.nCopies(parameters, "NULL")) + ")";
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return connections.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        connections.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        connections.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return connections.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return connections.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return type.isInstance(this) ? type.cast(this) : connections.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type.isInstance(this) || connections.isWrapperFor(type);
    }
}
