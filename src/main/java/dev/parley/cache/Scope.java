package dev.parley.cache;

/**
 * What one change makes stale: a character, a user's profile, a conversation (with its history and
 * the context built from it), or a user's inbox. Every cached view belongs to one scope, and a change
 * to the scope drops all of its views at once.
 */
public record Scope(Kind kind, long appId, long id) {
    /** The kinds of scope; each has its own time to live (PARLEY_CACHE_TTL). */
    public enum Kind { CHARACTER, USER, CONVERSATION, INBOX }

    public static Scope character(long appId, long characterId) {
        return new Scope(Kind.CHARACTER, appId, characterId);
    }

    public static Scope user(long appId, long userId) {
        return new Scope(Kind.USER, appId, userId);
    }

    public static Scope conversation(long appId, long conversationId) {
        return new Scope(Kind.CONVERSATION, appId, conversationId);
    }

    public static Scope inbox(long appId, long userId) {
        return new Scope(Kind.INBOX, appId, userId);
    }
}
