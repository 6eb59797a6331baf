package dev.parley.chat;

/** The caller's app has no such resource. Another app's resources are reported the same way. */
public final class NotFound extends RuntimeException {
    public NotFound(String resource, Object id) {
        super(resource + " " + id + " does not exist in this app");
    }

    /** Said in full, for what is not named by an id of the caller's app (an app by its name, a key by its prefix). */
    public static NotFound saying(String message) {
        return new NotFound(message);
    }

    private NotFound(String message) {
        super(message);
    }
}
