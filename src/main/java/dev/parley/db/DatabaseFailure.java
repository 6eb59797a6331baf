package dev.parley.db;

import java.sql.SQLException;

/** A statement failed for a reason no caller expected: a bug, reported as such. */
public final class DatabaseFailure extends RuntimeException {
    public DatabaseFailure(SQLException cause) {
        super("SQL failed with state " + cause.getSQLState() + ": " + cause.getMessage(), cause);
    }

    public String sqlState() {
        return ((SQLException) getCause()).getSQLState();
    }
}
