package dev.parley.http;

/** The caller is known but may not do this: a user token on a route for the app's key, or without the scope. */
final class Forbidden extends RuntimeException {
    Forbidden(String message) {
        super(message);
    }
}
