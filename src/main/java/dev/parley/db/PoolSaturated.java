package dev.parley.db;

/** No connection came free within the pool timeout; the request should be retried later. */
public final class PoolSaturated extends RuntimeException {
    public PoolSaturated(long timeoutMillis, String poolState, Throwable cause) {
        super("no database connection came free within " + timeoutMillis + " ms (" + poolState
                + "); retry later, or raise PARLEY_POOL_SIZE if the database has headroom", cause);
    }
}
