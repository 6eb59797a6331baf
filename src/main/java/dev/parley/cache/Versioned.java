package dev.parley.cache;

/**
 * A document a PATCH may change only at the version its writer read: its ETag carries {@link #version()}, and which
 * document it is ({@link #id()} and its kind), so a tag of another cannot stand for it.
 */
public interface Versioned {
    /** The document's id, unique among documents of its kind (across apps too). */
    long id();

    /** One more for each change a PATCH (or an upsert) made to the stored row. */
    long version();
}
