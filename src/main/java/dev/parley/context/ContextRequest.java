package dev.parley.context;

import dev.parley.chat.Limits;

/**
 * What a context is built for: whose reply ({@code characterId}, null: the conversation's character) to
 * whom ({@code userId}, a member; null: the conversation's user, whose profile and memories it carries),
 * how many recent messages, and how many memories, chosen by similarity to {@code memoryEmbedding},
 * else by the words of {@code memoryQuery}, else none.
 */
public record ContextRequest(long conversationId, Long characterId, Long userId, int messages, float[] memoryEmbedding,
                             String memoryQuery, int memories) {
    public static final int DEFAULT_MESSAGES = 20;
    public static final int MAX_MESSAGES = Limits.MAX_HISTORY_PAGE;
    public static final int DEFAULT_MEMORIES = 5;
    public static final int MAX_MEMORIES = 50;
    public static final int MAX_MEMORY_QUERY_BYTES = 1000;

    /** The last {@code messages} messages for the conversation's character, without memories. */
    public static ContextRequest of(long conversationId, int messages) {
        return new ContextRequest(conversationId, null, null, messages, null, null, DEFAULT_MEMORIES);
    }

    /** This request with memories recalled by similarity to {@code embedding} (a unit vector). */
    public ContextRequest recalling(float[] embedding, int count) {
        return new ContextRequest(conversationId, characterId, userId, messages, embedding, memoryQuery, count);
    }

    boolean bySimilarity() {
        return memoryEmbedding != null;
    }

    boolean byWords() {
        return memoryEmbedding == null && memoryQuery != null && !memoryQuery.isBlank();
    }
}
