package dev.parley.db;

import java.sql.SQLException;

/** Work done with one borrowed connection; see {@link Database#read} and {@link Database#inTransaction}. */
@FunctionalInterface
public interface SqlWork<T> {
    T run(Handle handle) throws SQLException;
}
