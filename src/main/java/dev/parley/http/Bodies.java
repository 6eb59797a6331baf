package dev.parley.http;

import static dev.parley.http.Takes.Setting.CONTENT;
import static dev.parley.http.Takes.Setting.METADATA;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import dev.parley.apps.UserTokens;
import dev.parley.chat.Limits;
import dev.parley.context.ContextRequest;
import dev.parley.input.Check;
import dev.parley.lifecycle.Retention;
import dev.parley.live.Presence;
import dev.parley.memory.Embedding;
import dev.parley.memory.RecallRequest;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** The JSON bodies requests carry. Unknown fields are refused; ids may be strings of digits or numbers. */
final class Bodies {
    private Bodies() {
    }

    /** A new character: {@code name} is required. */
    record CharacterInput(@Takes(required = true, maxBytes = Limits.MAX_NAME_BYTES) String name,
                          @Takes(maxBytes = Limits.MAX_PROMPT_BYTES) String systemPrompt,
                          @Takes(setting = METADATA, object = true) JsonNode traits,
                          @Takes(setting = METADATA, object = true) JsonNode metadata,
                          @Takes(maxItems = Limits.MAX_SUGGESTED_MESSAGES, setting = CONTENT) List<String> suggestedMessages) {
    }

    /**
     * A character's update: every field is optional; a given field replaces the stored one, except
     * {@code traits} and {@code metadata}, which are JSON merge patches (RFC 7396).
     */
    record CharacterPatch(@Takes(maxBytes = Limits.MAX_NAME_BYTES) String name,
                          @Takes(maxBytes = Limits.MAX_PROMPT_BYTES) String systemPrompt,
                          @Takes(setting = METADATA, object = true, notNull = true) JsonNode traits,
                          @Takes(setting = METADATA, object = true, notNull = true) JsonNode metadata,
                          @Takes(maxItems = Limits.MAX_SUGGESTED_MESSAGES, setting = CONTENT) List<String> suggestedMessages)
            implements PatchBody {
        CharacterInput asInput() {
            return new CharacterInput(name, systemPrompt, traits, metadata, suggestedMessages);
        }
    }

    /**
     * The body of a PATCH read by {@link Requests#patch}: one that gives none of its fields changes nothing and is
     * refused, as is a null for a field that cannot be removed (see {@link Requests#patch}). The document says both.
     */
    interface PatchBody {
    }

    /** Upsert by the app's own id for the user; a given profile replaces the stored one. */
    record UserInput(@Takes(required = true, maxBytes = Limits.MAX_EXTERNAL_ID_BYTES) String externalId,
                     @Takes(setting = METADATA, object = true) JsonNode profile) {
    }

    /** {@code profile} is a JSON merge patch (RFC 7396): null removes a key, objects merge. */
    record UserPatch(@Takes(required = true, setting = METADATA, object = true) JsonNode profile) {
    }

    /**
     * A direct chat names {@code character_id}; a group chat names {@code character_ids} (the first leads).
     * {@code language} is the text-search configuration for its messages (default english); {@code external_id}
     * is the app's own id for the chat (a Telegram chat id, say), unique within the app; {@code created_at}
     * an imported conversation's original time.
     */
    record ConversationInput(@Takes(required = true) Long userId, Long characterId,
                             @Takes(minItems = 1, maxItems = Limits.MAX_GROUP_CHARACTERS) List<Long> characterIds, String language,
                             @Takes(maxBytes = Limits.MAX_TITLE_BYTES) String title,
                             @Takes(setting = METADATA, object = true) JsonNode state,
                             @Takes(maxItems = Check.MAX_COUNTERS) Map<String, Long> counters,
                             @Takes(maxBytes = Limits.MAX_EXTERNAL_ID_BYTES) String externalId, String createdAt) {
    }

    /** {@code state} is a JSON merge patch (RFC 7396); {@code title} set to null clears it. */
    record ConversationPatch(@Takes(maxBytes = Limits.MAX_TITLE_BYTES) JsonNode title,
                             @Takes(setting = METADATA, object = true, notNull = true) JsonNode state) implements PatchBody {
    }

    /** Signed amounts to add to named counters, such as {"affection": 5, "xp": -2}. */
    record CounterIncrements(@Takes(required = true, minItems = 1, maxItems = Check.MAX_COUNTERS) Map<String, Long> increments) {
    }

    /**
     * One message to append. In a batch each may carry its own {@code idempotency_key}. {@code user_id}
     * names the member who writes a user message in a group with several people; {@code created_at} an
     * imported message's original time, later than the conversation's newest message.
     */
    record MessageInput(@Takes(oneOf = {"user", "assistant", "system", "tool"}) String role,
                        @Takes(required = true, setting = CONTENT) String content, Long characterId,
                        @Takes(setting = METADATA, object = true) JsonNode metadata, @Takes(setting = METADATA) JsonNode attachments,
                        Long replyToId, @Takes(maxBytes = Limits.MAX_IDEMPOTENCY_KEY_BYTES) String idempotencyKey, Long userId,
                        String createdAt) {
    }

    record MessageBatch(@Takes(required = true, minItems = 1, maxItems = Limits.MAX_BATCH) List<MessageInput> messages) {
    }

    /** A given field replaces the stored one; metadata or attachments set to null clear them. */
    record MessageEdit(@Takes(setting = CONTENT) String content,
                       @Takes(setting = METADATA, object = true) JsonNode metadata,
                       @Takes(setting = METADATA) JsonNode attachments) implements PatchBody {
    }

    /**
     * Marks read up to and including {@code message_id}, for the conversation's user or, if given, one
     * member user (a guest) or one character (bots read too).
     */
    record ReadInput(@Takes(required = true) Long messageId, Long characterId, Long userId) {
    }

    /** Who joins a conversation: a user (as a guest) or a character, exactly one of the two. */
    record MemberInput(Long userId, Long characterId) {
    }

    /**
     * A fact a character keeps about the user. {@code embedding} is the app's own vector for the
     * content (any model, up to 4096 dimensions, the same length within one user and character);
     * {@code conversation_id} the conversation it came from (the user's own, or a group they joined);
     * {@code created_at} its original time (ISO 8601) when imported.
     */
    record MemoryInput(@Takes(required = true) Long characterId, Long conversationId,
                       @Takes(required = true, setting = CONTENT) String content,
                       @Takes(minimum = 0, maximum = 1) Double importance, String language,
                       @Takes(setting = METADATA, object = true) JsonNode metadata, SentEmbedding embedding, String createdAt) {
    }

    /** Up to {@code Limits.MAX_BATCH} memories stored in one transaction: all of them, or none. */
    record MemoryBatch(@Takes(required = true, minItems = 1, maxItems = Limits.MAX_BATCH) List<MemoryInput> memories) {
    }

    /** A given field replaces the stored one; none may be null: a memory keeps each. */
    record MemoryPatch(@Takes(setting = CONTENT) String content,
                       @Takes(minimum = 0, maximum = 1) Double importance,
                       @Takes(setting = METADATA, object = true, notNull = true) JsonNode metadata,
                       SentEmbedding embedding) implements PatchBody {
    }

    /** Recall by similarity to {@code embedding} within one user's memories of one character. */
    record RecallInput(@Takes(required = true) Long characterId, @Takes(required = true) SentEmbedding embedding,
                       @Takes(minimum = 1, maximum = RecallRequest.MAX_LIMIT) Integer limit,
                       @Takes(minimum = -1, maximum = 1) Double minSimilarity, Boolean adaptive,
                       @Takes(minimum = MemoryHandlers.MIN_HALF_LIFE_DAYS, maximum = MemoryHandlers.MAX_HALF_LIFE_DAYS) Double halfLifeDays,
                       @Takes(minimum = 0, maximum = MemoryHandlers.MAX_WEIGHT) Double recencyWeight,
                       @Takes(minimum = 0, maximum = MemoryHandlers.MAX_WEIGHT) Double importanceWeight, Long conversationId,
                       @Takes(minimum = 0, maximum = MemoryHandlers.MAX_WEIGHT) Double conversationWeight) {
    }

    /**
     * The context for the next reply, by {@code character_id} to {@code user_id} in a group (defaults: the
     * conversation's). Memories come from {@code memory_embedding} (similarity) or {@code memory_query}
     * (words); {@code memories} is how many, default 5 when either is given.
     */
    record ContextInput(@Takes(minimum = 1, maximum = ContextRequest.MAX_MESSAGES) Integer messages, Long characterId,
                        Long userId, SentEmbedding memoryEmbedding,
                        @Takes(maxBytes = ContextRequest.MAX_MEMORY_QUERY_BYTES) String memoryQuery,
                        @Takes(minimum = 1, maximum = ContextRequest.MAX_MEMORIES) Integer memories,
                        @Takes(oneOf = {ContextRequest.MEMORIES_OF_USER, ContextRequest.MEMORIES_OF_EVERYONE}) String memoriesOf) {
    }

    /** Who says they type: the conversation's user or one of its characters; {@code typing} false says they stopped. */
    record TypingInput(Long userId, Long characterId, Boolean typing) {
    }

    /** {@code status} "online": the user is here (a heartbeat); "offline": the user left. */
    record PresenceInput(@Takes(required = true, oneOf = {Presence.ONLINE, Presence.OFFLINE}) String status) {
    }

    /** A user token's lifetime (default an hour) and what it may do (default both). */
    record TokenInput(@Takes(minimum = UserTokens.MIN_TTL_SECONDS, maximum = UserTokens.MAX_TTL_SECONDS) Integer ttlSeconds,
                      @Takes(minItems = 1, oneOf = {"read", "write"}) List<String> scopes) {
    }

    /** Days an app keeps its messages; a JSON null keeps them for ever (the field itself is required). */
    record RetentionInput(@Takes(required = true, minimum = 1, maximum = Retention.MAX_DAYS) JsonNode messageDays) {
    }

    /** An embedding as sent: a JSON array of numbers, or a string of base64 holding its little-endian float32 bytes. */
    @JsonDeserialize(using = SentEmbedding.Reader.class)
    record SentEmbedding(float[] numbers, byte[] base64) {
        /** The vector scaled to unit length; names {@code field} when it is no vector. */
        float[] unit(String field) {
            return Embedding.unit(field, numbers != null ? numbers : Embedding.fromBase64(field, base64));
        }

        static final class Reader extends StdDeserializer<SentEmbedding> {
            Reader() {
                super(SentEmbedding.class);
            }

            // Left out, an embedding is null; given as null, it is refused, as any body value but a JSON value is
            // (Requests.NullRefused, which a type's own deserializer is not given to).
            @Override
            public SentEmbedding getNullValue(DeserializationContext context) throws JsonMappingException {
                throw Requests.nullRefused(context);
            }

            @Override
            public SentEmbedding getAbsentValue(DeserializationContext context) {
                return null;
            }

            @Override
            public SentEmbedding deserialize(JsonParser parser, DeserializationContext context) throws IOException {
                return switch (parser.currentToken()) {
                    case START_ARRAY -> new SentEmbedding(context.readValue(parser, float[].class), null);
                    case VALUE_STRING -> new SentEmbedding(null, latin1(parser));
                    default -> (SentEmbedding) context.handleUnexpectedToken(SentEmbedding.class, parser);
                };
            }

            /** The string's characters as ISO-8859-1 bytes, as base64 decoding takes them, without a String between. */
            private static byte[] latin1(JsonParser parser) throws IOException {
                char[] text = parser.getTextCharacters();
                int offset = parser.getTextOffset();
                byte[] bytes = new byte[parser.getTextLength()];
                for (int i = 0; i < bytes.length; i++) {
                    char c = text[offset + i];
                    bytes[i] = c <= 0xFF ? (byte) c : (byte) '?'; // what String.getBytes(ISO_8859_1) makes of it
                }
                return bytes;
            }
        }
    }
}
