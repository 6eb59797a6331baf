package dev.parley.apps;

/** The app has no API key with this id or prefix. */
public final class KeyNotFound extends RuntimeException {
    KeyNotFound(String reference) {
        super("the app has no key " + reference + "; list its keys to see their ids and prefixes");
    }
}
