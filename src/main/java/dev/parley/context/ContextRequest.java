package dev.parley.context;

import dev.parley.chat.Limits;

/**
 * What a context is built for: whose reply ({@code characterId}, null: the conversation's character) to
 * whom ({@code userId}, a member; null: the conversation's user, whose profile and memories it carries),
 * how many recent messages, and how many memories, chosen by similarity to {@code memoryEmbedding},
 * else by the words of {@code memoryQuery}, else none; of the person answered alone, or of everyone whose
 * messages the context holds ({@code memoriesOf}).
 */
public record ContextRequest(long conversationId, Long characterId, Long userId, int messages, float[] memoryEmbedding,
                             String memoryQuery, int memories, MemoriesOf memoriesOf) {
    public static final int DEFAULT_MESSAGES = 20;
    public static final int MAX_MESSAGES = Limits.MAX_HISTORY_PAGE;
    public static final int DEFAULT_MEMORIES = 5;
    public static final int MAX_MEMORIES = 50;
    public static final int MAX_MEMORY_QUERY_BYTES = 1000;
    /** With {@link MemoriesOf#EVERYONE}, how many people's memories at most: the person answered and the latest to speak. */
    public static final int MAX_PEOPLE = 10;

    /** How a request names each {@link MemoriesOf}. */
    public static final String MEMORIES_OF_USER = "user";
    public static final String MEMORIES_OF_EVERYONE = "everyone";

    /** Whose memories a context recalls, each person's {@code memories} most relevant. */
    public enum MemoriesOf {
        /** The person the context answers. */
        USER(MEMORIES_OF_USER),
        /**
         * The person answered and each other person who wrote one of the context's messages, the latest to speak
         * first, {@link #MAX_PEOPLE} in all: in a group, what the character remembers of everyone in the talk.
         */
        EVERYONE(MEMORIES_OF_EVERYONE);

        /** The name a request gives it. */
        public final String parameter;

        MemoriesOf(String parameter) {
            this.parameter = parameter;
        }
    }

    /** The last {@code messages} messages for the conversation's character, without memories. */
    public static ContextRequest of(long conversationId, int messages) {
        return new ContextRequest(conversationId, null, null, messages, null, null, DEFAULT_MEMORIES, MemoriesOf.USER);
    }

    /** This request with memories recalled by similarity to {@code embedding} (a unit vector). */
    public ContextRequest recalling(float[] embedding, int count) {
        return new ContextRequest(conversationId, characterId, userId, messages, embedding, memoryQuery, count, memoriesOf);
    }

    boolean bySimilarity() {
        return memoryEmbedding != null;
    }

    boolean byWords() {
        return memoryEmbedding == null && memoryQuery != null && !memoryQuery.isBlank();
    }
}
