package dev.parley.apps;

/** No app has this name. */
public final class AppNotFound extends RuntimeException {
    AppNotFound(String name) {
        super("no app is named '" + name + "'");
    }
}
