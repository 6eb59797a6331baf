package dev.parley.chat;

/** A request value cannot be accepted; {@link #field} names it as the client sent it. */
public final class InvalidInput extends RuntimeException {
    private final String field;

    public InvalidInput(String field, String problem) {
        super(field + " " + problem);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
