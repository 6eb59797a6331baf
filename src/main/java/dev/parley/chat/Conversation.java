package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.Versioned;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.time.Instant;
import java.util.List;

/**
 * A conversation between one user and one character, or a group chat with several characters and
 * people: {@code userIds} lists its user first, then the guests who joined it. {@code externalId} is
 * the app's own id for the chat, if it gave one.
 */
public record Conversation(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long characterId,
        List<String> characterIds,
        List<String> userIds,
        boolean isGroup,
        String language,
        @Nullable String title,
        JsonText state,
        JsonText counters,
        long messageCount,
        long lastSeq,
        @Nullable LastMessage lastMessage,
        Instant createdAt,
        Instant lastActivityAt,
        Instant updatedAt,
        @Nullable String externalId,
        long version) implements Versioned {

    /** The users besides {@link #userId} who joined the conversation: their inboxes list it too. */
    public List<Long> guestIds() {
        return userIds.stream().skip(1).map(Long::valueOf).toList();
    }

    /** This conversation with other counters: the running ones of this instance. */
    public Conversation withCounters(JsonText shown) {
        return new Conversation(id, userId, characterId, characterIds, userIds, isGroup, language, title, state, shown,
                messageCount, lastSeq, lastMessage, createdAt, lastActivityAt, updatedAt, externalId, version);
    }

    /** A conversation as a list found it, with its place in the order of last activity (for the next page's cursor). */
    public record Listed(Conversation conversation, long activityId) {
        public Listed with(Conversation shown) {
            return new Listed(shown, activityId);
        }
    }

    /** The newest message, as the inbox shows it; {@code preview} ({@link Preview#shown}) is null once that message is deleted. */
    public record LastMessage(
            @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
            String role,
            @Nullable String preview,
            Instant createdAt) {
        public LastMessage {
            preview = preview == null ? null : Preview.shown(preview);
        }
    }

    /**
     * What a client gives to start a conversation; the first character is the one a direct chat is with.
     * {@code language} is the text-search configuration its messages are indexed with; {@code createdAt}
     * an imported conversation's original time (null: now).
     */
    public record Draft(long userId, List<Long> characterIds, String language, String title, JsonNode state,
                        JsonNode counters, String externalId, Instant createdAt) {

        /** A conversation started now. */
        public Draft(long userId, List<Long> characterIds, String language, String title, JsonNode state, JsonNode counters,
                     String externalId) {
            this(userId, characterIds, language, title, state, counters, externalId, null);
        }

        /** A conversation the app knows by no id of its own. */
        public Draft(long userId, List<Long> characterIds, String language, String title, JsonNode state, JsonNode counters) {
            this(userId, characterIds, language, title, state, counters, null, null);
        }
    }
}
