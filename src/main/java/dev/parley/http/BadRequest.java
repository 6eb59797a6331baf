package dev.parley.http;

/** The request itself is unusable (its JSON does not parse, its media type is wrong ...); {@code slug} names the kind. */
final class BadRequest extends RuntimeException {
    private final int status;
    private final String slug;
    private final String field;

    BadRequest(int status, String slug, String field, String message) {
        super(message);
        this.status = status;
        this.slug = slug;
        this.field = field;
    }

    int status() {
        return status;
    }

    String slug() {
        return slug;
    }

    String field() {
        return field;
    }
}
