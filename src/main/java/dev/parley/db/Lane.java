package dev.parley.db;

/**
 * The app the current thread works for. The HTTP layer sets it around each request, so the pool
 * can take turns between apps ({@link Turns}); work outside a request (group commit, maintenance)
 * has none and shares the background lane.
 */
public final class Lane {
    private static final ThreadLocal<Long> APP = new ThreadLocal<>();

    /** Work that may throw, as a request handler does. */
    @FunctionalInterface
    public interface Work {
        void run() throws Exception;
    }

    private Lane() {
    }

    /** Runs {@code work} on behalf of {@code appId}. */
    public static void runAs(long appId, Work work) throws Exception {
        Long outer = APP.get();
        APP.set(appId);
        try {
            work.run();
        } finally {
            if (outer == null) {
                APP.remove();
            } else {
                APP.set(outer);
            }
        }
    }

    /** The app this thread works for, or null outside a request. */
    static Long current() {
        return APP.get();
    }
}
