package dev.parley.db;

/** The embedded PostgreSQL could not be prepared or started; the message quotes its log's reason and names the log. */
public final class PostgresDidNotStart extends RuntimeException {
    PostgresDidNotStart(String message) {
        super(message);
    }

    PostgresDidNotStart(String message, Throwable cause) {
        super(message, cause);
    }
}
