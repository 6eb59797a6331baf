package dev.parley.live;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.Conversation;
import dev.parley.chat.Conversations;
import dev.parley.chat.InvalidInput;
import dev.parley.json.Nullable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who is typing in a conversation right now: its user or one of its characters, each for {@code ttl}
 * (PARLEY_TYPING_TTL) after saying so, unless they say they stopped. Kept in {@link ExpiringMaps}, never
 * in PostgreSQL; whether someone still types is decided by the {@link Clock}, so every instance agrees
 * and a test moves time instead of waiting.
 */
public final class Typing {
    /** One participant typing; exactly one of the ids is set. */
    public record Typist(@Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long userId,
                         @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long characterId,
                         Instant expiresAt) {
    }

    /** Who types: the conversation's user ({@code characterId} null) or one of its characters. */
    public record Participant(Long userId, Long characterId) {
        String field() {
            return userId != null ? "user:" + userId : "character:" + characterId;
        }
    }

    private final ExpiringMaps maps;
    private final Conversations conversations;
    private final Duration ttl;
    private final Clock clock;

    public Typing(ExpiringMaps maps, Conversations conversations, Duration ttl, Clock clock) {
        this.maps = maps;
        this.conversations = conversations;
        this.ttl = ttl;
        this.clock = clock;
    }

    /** Marks {@code who} as typing for the next {@code ttl}, or as stopped; returns who types now. */
    public List<Typist> set(long appId, long conversationId, Participant who, boolean typing) {
        Conversation conversation = conversations.get(appId, conversationId);
        requireParticipant(conversation, who);
        String key = key(appId, conversationId);
        if (typing) {
            Instant until = clock.instant().plus(ttl);
            maps.put(key, Map.of(who.field(), String.valueOf(until.toEpochMilli())), ttl);
        } else {
            maps.remove(key, who.field());
        }
        return typists(appId, conversation);
    }

    /**
     * Soonest to stop first; two who started in one millisecond stop in it too: people, then characters, each by id (it
     * was the map's order, which the docs' example saw change between runs).
     */
    static final Comparator<Typist> ORDER = Comparator.comparing(Typist::expiresAt)
            .thenComparing(typist -> typist.userId() == null)
            .thenComparing(typist -> typist.userId() != null ? typist.userId() : typist.characterId());

    /** Who types in the conversation now, soonest to stop first (people before characters at once); NotFound when there is no such conversation. */
    public List<Typist> now(long appId, long conversationId) {
        return typists(appId, conversations.get(appId, conversationId));
    }

    /**
     * Those still typing who are still in the conversation: a guest removed from a group, an erased user or a
     * deleted character types no more, though the map keeps them until their time runs out.
     */
    private List<Typist> typists(long appId, Conversation conversation) {
        Instant now = clock.instant();
        return maps.get(key(appId, conversation.id())).entrySet().stream()
                .map(entry -> typist(entry.getKey(), ExpiringMaps.instantOf(entry.getValue())))
                .filter(typist -> typist != null && typist.expiresAt().isAfter(now))
                .filter(typist -> typist.userId() != null ? conversation.userIds().contains(String.valueOf(typist.userId()))
                        : conversation.characterIds().contains(String.valueOf(typist.characterId())))
                .sorted(ORDER)
                .toList();
    }

    /** The typist a field of the map names until {@code until}; null for a field or time no instance writes (skipped). */
    private static Typist typist(String field, Instant until) {
        Matcher named = FIELD.matcher(field);
        if (until == null || !named.matches()) {
            return null;
        }
        long id = Long.parseLong(named.group(2));
        return named.group(1).equals("user") ? new Typist(id, null, until) : new Typist(null, id, until);
    }

    /** A field {@link Participant#field} writes: its kind and a positive id of at most 18 digits (within 64 bits). */
    private static final Pattern FIELD = Pattern.compile("(user|character):([1-9][0-9]{0,17})");

    /**
     * The user must be one of the conversation's people (its own user, or a guest of a group chat), a character
     * one of its members: anyone else is the client's mistake.
     */
    private static void requireParticipant(Conversation conversation, Participant who) {
        if (who.userId() != null && !conversation.userIds().contains(String.valueOf(who.userId()))) {
            throw new InvalidInput("user_id", "refers to user " + who.userId() + ", who is not in conversation "
                    + conversation.id() + " (its people: " + String.join(", ", conversation.userIds()) + ")");
        }
        if (who.characterId() != null && !conversation.characterIds().contains(String.valueOf(who.characterId()))) {
            throw new InvalidInput("character_id", "refers to character " + who.characterId()
                    + ", which is not a member of conversation " + conversation.id() + " (its characters: "
                    + String.join(", ", conversation.characterIds()) + ")");
        }
    }

    private static String key(long appId, long conversationId) {
        return "typing:" + appId + ":" + conversationId;
    }
}
