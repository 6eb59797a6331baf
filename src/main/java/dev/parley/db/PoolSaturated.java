package dev.parley.db;

/** No connection came free within the pool timeout; the request should be retried later. */
public final class PoolSaturated extends RuntimeException {
    /** {@code reason}: "no database connection came free within 2000 ms", say; {@code poolState}: {@link Database#poolState}. */
    public PoolSaturated(String reason, String poolState, Throwable cause) {
        this(reason, poolState, "retry later, or raise PARLEY_POOL_SIZE if the database has headroom", cause);
    }

    PoolSaturated(String reason, String poolState, String advice, Throwable cause) {
        super(reason + " (" + poolState + "); " + advice, cause);
    }
}
