package dev.parley.cache;

/** A document a PATCH may change only at the version its writer read: its ETag carries {@link #version()}. */
public interface Versioned {
    /** One more for each change a PATCH (or an upsert) made to the stored row. */
    long version();
}
