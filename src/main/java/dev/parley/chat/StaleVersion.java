package dev.parley.chat;

/** A PATCH named (If-Match) a version of the document that is no longer the stored one: nothing was changed. */
public final class StaleVersion extends RuntimeException {
    public StaleVersion(String resource, long id, long required, long current) {
        super(resource + " " + id + " is at version " + current + ", not " + (required == 0 ? "the one If-Match names" : required)
                + "; nothing was changed. GET it again, apply the change to what it returns, and send its new ETag");
    }
}
