package dev.parley.chat;

/** A PATCH named (If-Match) a version of the document that is no longer the stored one: nothing was changed. */
public final class StaleVersion extends RuntimeException {
    /** {@code required} 0: If-Match named no version of this document (another's tag, or one it cannot read). */
    public StaleVersion(String resource, long id, long required, long current) {
        super((required == 0 ? "the ETag If-Match names is not one of " + resource + " " + id + " (another document's, or one "
                + "an earlier version of Parley made)" : resource + " " + id + " is at version " + current + ", not " + required)
                + "; nothing was changed. GET it again, apply the change to what it returns, and send its new ETag");
    }

    private StaleVersion(String message) {
        super(message);
    }

    /** A GET whose If-Match names another ETag than the one its answer has: no body is sent. */
    public static StaleVersion ofRead(String currentEtag) {
        return new StaleVersion("what this GET answers has the ETag " + currentEtag + ", not the one If-Match names; "
                + "send the GET without If-Match to read it as it is now");
    }

    /** A document without a version number (a message, a memory): what is stored no longer has the ETag If-Match names. */
    public StaleVersion(String resource, long id) {
        super(resource + " " + id + " is no longer what the ETag If-Match names"
                + "; nothing was changed. GET it again, apply the change to what it returns, and send its new ETag");
    }
}
