package dev.parley.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import dev.parley.memory.Embedding;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** The JSON bodies requests carry. Unknown fields are refused; ids may be strings of digits or numbers. */
final class Bodies {
    private Bodies() {
    }

    /**
     * Create: {@code name} is required. Update: every field is optional; a given field replaces the stored
     * one, except {@code traits} and {@code metadata}, which are JSON merge patches (RFC 7396).
     */
    record CharacterInput(String name, String systemPrompt, JsonNode traits, JsonNode metadata, List<String> suggestedMessages) {
    }

    /** Upsert by the app's own id for the user; a given profile replaces the stored one. */
    record UserInput(String externalId, JsonNode profile) {
    }

    /** {@code profile} is a JSON merge patch (RFC 7396): null removes a key, objects merge. */
    record UserPatch(JsonNode profile) {
    }

    /**
     * A direct chat names {@code character_id}; a group chat names {@code character_ids} (the first leads).
     * {@code language} is the text-search configuration for its messages (default english); {@code external_id}
     * is the app's own id for the chat (a Telegram chat id, say), unique within the app; {@code created_at}
     * an imported conversation's original time.
     */
    record ConversationInput(Long userId, Long characterId, List<Long> characterIds, String language, String title,
                             JsonNode state, Map<String, Long> counters, String externalId, String createdAt) {
    }

    /** {@code state} is a JSON merge patch (RFC 7396); {@code title} set to null clears it. */
    record ConversationPatch(JsonNode title, JsonNode state) {
    }

    /** Signed amounts to add to named counters, such as {"affection": 5, "xp": -2}. */
    record CounterIncrements(Map<String, Long> increments) {
    }

    /**
     * One message to append. In a batch each may carry its own {@code idempotency_key}. {@code user_id}
     * names the member who writes a user message in a group with several people; {@code created_at} an
     * imported message's original time, later than the conversation's newest message.
     */
    record MessageInput(String role, String content, Long characterId, JsonNode metadata, JsonNode attachments,
                        Long replyToId, String idempotencyKey, Long userId, String createdAt) {
    }

    record MessageBatch(List<MessageInput> messages) {
    }

    /** A given field replaces the stored one; metadata or attachments set to null clear them. */
    record MessageEdit(String content, JsonNode metadata, JsonNode attachments) {
    }

    /**
     * Marks read up to and including {@code message_id}, for the conversation's user or, if given, one
     * member user (a guest) or one character (bots read too).
     */
    record ReadInput(Long messageId, Long characterId, Long userId) {
    }

    /** Who joins a conversation: a user (as a guest) or a character, exactly one of the two. */
    record MemberInput(Long userId, Long characterId) {
    }

    /**
     * A fact a character keeps about the user. {@code embedding} is the app's own vector for the
     * content (any model, up to 4096 dimensions, the same length within one user and character);
     * {@code conversation_id} the user's conversation it came from; {@code created_at} its original time
     * (ISO 8601) when imported.
     */
    record MemoryInput(Long characterId, Long conversationId, String content, Double importance, String language,
                       JsonNode metadata, SentEmbedding embedding, String createdAt) {
    }

    /** Up to {@code Limits.MAX_BATCH} memories stored in one transaction: all of them, or none. */
    record MemoryBatch(List<MemoryInput> memories) {
    }

    /** A given field replaces the stored one. */
    record MemoryPatch(String content, Double importance, JsonNode metadata, SentEmbedding embedding) {
    }

    /** Recall by similarity to {@code embedding} within one user's memories of one character. */
    record RecallInput(Long characterId, SentEmbedding embedding, Integer limit, Double minSimilarity, Boolean adaptive,
                       Double halfLifeDays, Double recencyWeight, Double importanceWeight, Long conversationId,
                       Double conversationWeight) {
    }

    /**
     * The context for the next reply. Memories come from {@code memory_embedding} (similarity) or
     * {@code memory_query} (words); {@code memories} is how many, default 5 when either is given.
     */
    record ContextInput(Integer messages, Long characterId, SentEmbedding memoryEmbedding, String memoryQuery,
                        Integer memories) {
    }

    /** Who says they type: the conversation's user or one of its characters; {@code typing} false says they stopped. */
    record TypingInput(Long userId, Long characterId, Boolean typing) {
    }

    /** {@code status} "online": the user is here (a heartbeat); "offline": the user left. */
    record PresenceInput(String status) {
    }

    /** Days an app keeps its messages; a JSON null keeps them for ever (the field itself is required). */
    record RetentionInput(JsonNode messageDays) {
    }

    /** An embedding as sent: a JSON array of numbers, or a string of base64 holding its little-endian float32 bytes. */
    @JsonDeserialize(using = SentEmbedding.Reader.class)
    record SentEmbedding(float[] numbers, String base64) {
        /** The vector scaled to unit length; names {@code field} when it is no vector. */
        float[] unit(String field) {
            return Embedding.unit(field, numbers != null ? numbers : Embedding.fromBase64(field, base64));
        }

        static final class Reader extends StdDeserializer<SentEmbedding> {
            Reader() {
                super(SentEmbedding.class);
            }

            @Override
            public SentEmbedding deserialize(JsonParser parser, DeserializationContext context) throws IOException {
                return switch (parser.currentToken()) {
                    case START_ARRAY -> new SentEmbedding(context.readValue(parser, float[].class), null);
                    case VALUE_STRING -> new SentEmbedding(null, parser.getText());
                    default -> (SentEmbedding) context.handleUnexpectedToken(SentEmbedding.class, parser);
                };
            }
        }
    }
}
