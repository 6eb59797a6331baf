package dev.parley.db;

/** PostgreSQL cannot be reached or is shutting down; the pool reconnects by itself once it is back. */
public final class DatabaseUnavailable extends RuntimeException {
    public DatabaseUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
