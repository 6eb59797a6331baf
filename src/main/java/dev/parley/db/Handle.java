package dev.parley.db;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.ToIntFunction;
import org.postgresql.PGStatement;

/**
 * One borrowed connection, lent for the length of a {@link SqlWork}. Every statement runs as a
 * named {@link Query} with positional arguments, and is timed under that name.
 */
public final class Handle {
    private final Connection connection;
    private final QueryLog log;

    Handle(Connection connection, QueryLog log) {
        this.connection = connection;
        this.log = log;
    }

    public <T> List<T> list(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return timed(query, args, List::size, statement -> every(statement, mapper));
    }

    /**
     * {@link #list}, with the rows sent in binary from the statement's first run on this connection. pgjdbc asks for
     * binary only once it has prepared a statement by name (its fifth run), so a statement run rarely gets its bytea as
     * hexadecimal text, which PostgreSQL spends time writing and pgjdbc reading: a scope's 13,000 embeddings (40 MB)
     * took 670-820 ms so, 200-290 ms in binary (docs/benchmarks.md). Behind PgBouncer in transaction mode a connection
     * names no statement (prepareThreshold=0), and the rows come as text, as {@link #list} gets them.
     */
    public <T> List<T> listInBinary(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return timed(query, args, List::size, statement -> {
            PGStatement pg = statement.unwrap(PGStatement.class);
            if (pg.getPrepareThreshold() != 0) {
                pg.setPrepareThreshold(-1); // pgjdbc: prepare by name at once, and read every column it can in binary
            }
            return every(statement, mapper);
        });
    }

    private static <T> List<T> every(PreparedStatement statement, RowMapper<T> mapper) throws SQLException {
        try (ResultSet rows = statement.executeQuery()) {
            List<T> result = new ArrayList<>();
            while (rows.next()) {
                result.add(mapper.map(rows));
            }
            return result;
        }
    }

    /**
     * {@link #list} of {@code query}, with {@code before} run ahead of it in the same round trip: pgjdbc sends the
     * statements of a text joined by ';' one after the other and waits once, for all of their answers (one Sync).
     * {@code before}'s rows are not read, and if it fails {@code query} does not run. Timed under {@code query}.
     */
    public <T> List<T> listAfter(Query before, Object[] beforeArgs, Query query, RowMapper<T> mapper, Object... args)
            throws SQLException {
        Object[] all = new Object[beforeArgs.length + args.length];
        System.arraycopy(beforeArgs, 0, all, 0, beforeArgs.length);
        System.arraycopy(args, 0, all, beforeArgs.length, args.length);
        return timed(query, before.sql() + ";\n" + query.sql(), all, List::size, statement -> rowsOf(statement, 1, mapper));
    }

    /**
     * {@link #list} of {@code query} and COMMIT, sent in one round trip: the rows come back only if the transaction
     * that holds {@code query}'s changes has committed. The last statement of a transaction: once it returns the
     * connection is out of it, and {@code Connection.commit} has nothing left to send. If {@code query} fails, the
     * COMMIT does not run and the transaction is rolled back as usual; if the connection breaks, whether it committed
     * is unknown.
     */
    public <T> List<T> listAndCommit(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return timed(query, query.sql() + ";\nCOMMIT", args, List::size, statement -> rowsOf(statement, 0, mapper));
    }

    /** The rows of the {@code index}th result of a statement text holding several statements. */
    private static <T> List<T> rowsOf(PreparedStatement statement, int index, RowMapper<T> mapper) throws SQLException {
        List<T> result = null;
        boolean isRows = statement.execute();
        for (int at = 0; isRows || statement.getUpdateCount() != -1; at++) {
            if (isRows && at == index) {
                try (ResultSet rows = statement.getResultSet()) {
                    result = new ArrayList<>();
                    while (rows.next()) {
                        result.add(mapper.map(rows));
                    }
                }
            }
            isRows = statement.getMoreResults();
        }
        if (result == null) {
            throw new IllegalStateException("statement " + index + " of the text returned no rows");
        }
        return result;
    }

    public <T> Optional<T> first(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return timed(query, args, found -> found.isPresent() ? 1 : 0, statement -> {
            statement.setMaxRows(1);
            try (ResultSet rows = statement.executeQuery()) {
                return rows.next() ? Optional.ofNullable(mapper.map(rows)) : Optional.empty();
            }
        });
    }

    /** {@link #list} of a statement whose values are bound by name. */
    public <T> List<T> list(NamedQuery.Binding bound, RowMapper<T> mapper) throws SQLException {
        return list(bound.query(), mapper, bound.arguments());
    }

    /** {@link #listAndCommit} of a statement whose values are bound by name. */
    public <T> List<T> listAndCommit(NamedQuery.Binding bound, RowMapper<T> mapper) throws SQLException {
        return listAndCommit(bound.query(), mapper, bound.arguments());
    }

    /** {@link #first} of a statement whose values are bound by name. */
    public <T> Optional<T> first(NamedQuery.Binding bound, RowMapper<T> mapper) throws SQLException {
        return first(bound.query(), mapper, bound.arguments());
    }

    /** Runs an INSERT, UPDATE, DELETE or DDL statement and returns the number of rows it touched. */
    public int execute(Query query, Object... args) throws SQLException {
        return timed(query, args, Integer::intValue, PreparedStatement::executeUpdate);
    }

    /** {@link #execute} of a statement whose values are bound by name. */
    public int execute(NamedQuery.Binding bound) throws SQLException {
        return execute(bound.query(), bound.arguments());
    }

    /** A SQL array of the given element type ("bigint", "text", ...) to bind as one argument. */
    public Array array(String elementType, Object[] elements) throws SQLException {
        return connection.createArrayOf(elementType, elements);
    }

    /** The raw connection, for the few things a statement cannot do (COPY, EXPLAIN in tests). */
    public Connection connection() {
        return connection;
    }

    private interface StatementWork<T> {
        T run(PreparedStatement statement) throws SQLException;
    }

    private <T> T timed(Query query, Object[] args, ToIntFunction<T> rowsOf, StatementWork<T> work) throws SQLException {
        return timed(query, query.sql(), args, rowsOf, work);
    }

    /** Runs {@code sql}, {@code query}'s text or one that holds it, and logs the time under {@code query}. */
    private <T> T timed(Query query, String sql, Object[] args, ToIntFunction<T> rowsOf, StatementWork<T> work)
            throws SQLException {
        long start = System.nanoTime();
        int rows = -1;
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            bind(statement, args);
            T result = work.run(statement);
            rows = rowsOf.applyAsInt(result);
            return result;
        } finally {
            log.record(query, System.nanoTime() - start, rows, args.length);
        }
    }

    private static void bind(PreparedStatement statement, Object[] args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object arg = args[i];
            switch (arg) {
                case null -> statement.setNull(i + 1, Types.OTHER);
                case Instant instant -> statement.setObject(i + 1, OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
                case Array array -> statement.setArray(i + 1, array);
                default -> statement.setObject(i + 1, arg);
            }
        }
    }
}
