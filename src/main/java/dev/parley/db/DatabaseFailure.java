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

    /** A lock waited for past the request pool's lock_timeout (55P03, lock_not_available). */
    public boolean lockTimedOut() {
        return "55P03".equals(sqlState());
    }

    /**
     * A lock or statement timeout (57014 also when an operator cancelled the statement): nothing it asked was wrong,
     * and its transaction was rolled back, so the same work may be tried again later.
     */
    public boolean timedOut() {
        return lockTimedOut() || "57014".equals(sqlState());
    }

    /**
     * PostgreSQL broke a deadlock by rolling this transaction back (40P01): two transactions locked the same rows in
     * opposite orders. Writers lock in one order so that none should; should one still happen, nothing was changed
     * and a retry succeeds.
     */
    public boolean deadlocked() {
        return "40P01".equals(sqlState());
    }
}
