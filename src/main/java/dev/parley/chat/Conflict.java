package dev.parley.chat;

/** The request contradicts what is already stored, such as an Idempotency-Key reused for a different message. */
public final class Conflict extends RuntimeException {
    private final String type;
    private final String field;

    public Conflict(String type, String message) {
        this(type, null, message);
    }

    /** A conflict of what {@code field} of the request asks for (its problem's errors name it), as {@code memories[3].embedding}. */
    public Conflict(String type, String field, String message) {
        super(message);
        this.type = type;
        this.field = field;
    }

    /** A stable, machine-readable name for the kind of conflict. */
    public String type() {
        return type;
    }

    /** The request's field whose ask conflicts, or null when the request as a whole does. */
    public String field() {
        return field;
    }
}
