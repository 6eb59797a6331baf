package dev.parley.http;

/** The request carried no API key, or one that is not valid. */
final class Unauthorized extends RuntimeException {
    Unauthorized(String message) {
        super(message);
    }
}
