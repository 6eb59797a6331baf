package dev.parley.chat;

/** The request contradicts what is already stored, such as an Idempotency-Key reused for a different message. */
public final class Conflict extends RuntimeException {
    private final String type;

    public Conflict(String type, String message) {
        super(message);
        this.type = type;
    }

    /** A stable, machine-readable name for the kind of conflict. */
    public String type() {
        return type;
    }
}
