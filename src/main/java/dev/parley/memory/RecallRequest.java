package dev.parley.memory;

/**
 * What to recall: the {@code limit} best memories whose similarity to {@code embedding} (unit
 * length) is at least {@code minSimilarity}, or the adaptive threshold when that is higher. Memories
 * of {@code conversationId} (when not null) score {@code conversationWeight} more.
 */
public record RecallRequest(float[] embedding, int limit, double minSimilarity, boolean adaptive,
                            double halfLifeDays, double recencyWeight, double importanceWeight,
                            Long conversationId, double conversationWeight) {
    public static final int DEFAULT_LIMIT = 10;
    public static final int MAX_LIMIT = 100;
    public static final double DEFAULT_MIN_SIMILARITY = 0.25;
    public static final double DEFAULT_HALF_LIFE_DAYS = 30;
    public static final double DEFAULT_RECENCY_WEIGHT = 0.1;
    public static final double DEFAULT_IMPORTANCE_WEIGHT = 0.1;
    public static final double DEFAULT_CONVERSATION_WEIGHT = 0.1;

    /** The same request favouring the memories made in {@code conversation}, by the default weight: a context's recall. */
    public RecallRequest inConversation(long conversation) {
        return new RecallRequest(embedding, limit, minSimilarity, adaptive, halfLifeDays, recencyWeight, importanceWeight,
                conversation, DEFAULT_CONVERSATION_WEIGHT);
    }

    /** The defaults for everything but the query vector and the count. */
    public static RecallRequest of(float[] embedding, int limit) {
        return new RecallRequest(embedding, limit, DEFAULT_MIN_SIMILARITY, true, DEFAULT_HALF_LIFE_DAYS,
                DEFAULT_RECENCY_WEIGHT, DEFAULT_IMPORTANCE_WEIGHT, null, 0);
    }
}
