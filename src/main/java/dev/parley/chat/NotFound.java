package dev.parley.chat;

/** The caller's app has no such resource. Another app's resources are reported the same way. */
public final class NotFound extends RuntimeException {
    public NotFound(String resource, Object id) {
        super(resource + " " + id + " does not exist in this app");
    }
}
