package dev.parley.context;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Characters;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.MessageLog;
import dev.parley.chat.NotFound;
import dev.parley.chat.User;
import dev.parley.chat.Users;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import dev.parley.db.Consistency;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.memory.Remembered;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Everything an app sends to its LLM for the next reply, in one request: the character's profile and
 * system prompt, the profile of the person it answers (the conversation's user, or in a group a guest),
 * the conversation's state, the last N visible messages as chat-completion messages (system prompt
 * first), and that person's memories that matter now. Decided
 * here alone: the HTTP handlers and the bench's "raw" target build the same context through it.
 */
public final class ChatContext {
    // newest_id ends the messages read, as MessageLog.NEWEST_ID does for history: no message is newer.
    static final Query HEAD = new Query("context.head", """
            SELECT c.state, c.counters, c.title, c.is_group, c.language::text AS language, c.user_id, c.character_id,
                   coalesce(c.last_message_id, c.conversation_id) AS newest_id,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'character') AS character_ids,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'user' AND m.member_id <> c.user_id) AS guest_ids
              FROM conversations c
             WHERE c.app_id = ? AND c.conversation_id = ?""");

    private static final String VISIBLE_NEWEST_FIRST = """
            SELECT role, content, author_character_id, author_user_id FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id <= ? AND deleted_at IS NULL
             ORDER BY message_id DESC
             LIMIT ?""";
    static final Query RECENT = new Query("context.messages_recent", VISIBLE_NEWEST_FIRST);
    static final Query OLDER = new Query("context.messages_older", VISIBLE_NEWEST_FIRST);

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(HEAD, RECENT);

    /**
     * One chat-completion message; {@code name} tells characters apart in a group chat, written as chat-completion
     * APIs take a name ({@link #asName}).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record LlmMessage(String role, String content, @Nullable String name) {
        public LlmMessage {
            name = name == null || name.isBlank() ? null : asName(name);
        }
    }

    /** A name as long as chat-completion APIs take one: 64 characters (UTF-16 units, the strictest count), cut between graphemes. */
    static final int NAME_LENGTH = 64;
    private static final java.util.regex.Pattern NOT_IN_A_NAME = java.util.regex.Pattern.compile("[\\p{IsWhite_Space}<|\\\\/>\\p{Cc}]+");

    /**
     * {@code name} as chat-completion APIs take a message's name: OpenAI's refuses the whole request for one with a
     * space, {@code <}, {@code |}, a slash or {@code >} in it ("Director Agent"), or longer than 64 characters. Each run of
     * those becomes one {@code _}, and a longer name is cut where the last whole grapheme within 64 ends (a grapheme
     * longer than that is cut where they end); the profile keeps the name as it is. A blank name is no name.
     */
    static String asName(String name) {
        String named = NOT_IN_A_NAME.matcher(name.strip()).replaceAll("_");
        if (named.length() <= NAME_LENGTH) {
            return named;
        }
        int cut = dev.parley.input.Graphemes.start(named, 0, NAME_LENGTH);
        return named.substring(0, cut > 0 ? cut : Character.isLowSurrogate(named.charAt(NAME_LENGTH)) ? NAME_LENGTH - 1 : NAME_LENGTH);
    }

    public record Speaker(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String name, String systemPrompt,
                          JsonText traits, JsonText metadata) {
    }

    public record Person(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String externalId, JsonText profile) {
    }

    public record State(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, @Nullable String title, boolean isGroup,
                        String language, JsonText state, JsonText counters) {
        State withCounters(CounterBuffer.Running running) {
            return running.isEmpty() ? this : new State(id, title, isGroup, language, state, running.over(counters));
        }
    }

    public record Context(State conversation, Speaker character, Person user, List<LlmMessage> messages,
                          List<Remembered> memories) {
        /**
         * This context with memories: listed for the app, and told to the model in a system message after the prompt,
         * under each person's name when it names people ({@code names}: by user id), else as the user's.
         */
        Context withMemories(List<Remembered> found, Map<Long, String> names) {
            if (found.isEmpty()) {
                return this;
            }
            var notes = new StringBuilder();
            Long person = null;
            for (Remembered memory : found) { // each person's memories together, the person answered first
                if (person == null || person != memory.userId()) {
                    person = memory.userId();
                    String whom = names.isEmpty() ? "the user" : names.get(person);
                    notes.append(notes.isEmpty() ? "" : "\n").append("What you remember about ").append(whom).append(':');
                }
                notes.append("\n- ").append(memory.content());
            }
            List<LlmMessage> withNotes = new ArrayList<>(messages);
            int afterPrompt = character.systemPrompt().isEmpty() ? 0 : 1; // conversationPart() puts a non-empty prompt first
            withNotes.add(afterPrompt, new LlmMessage("system", notes.toString(), null));
            return new Context(conversation, character, user, List.copyOf(withNotes), List.copyOf(found));
        }
    }

    /**
     * A context before its memories, with the people whose memories it may carry: the person answered, then those who
     * wrote its messages, the latest first; and the names its messages gave people (none when it names no one).
     */
    private record Built(Context context, List<Long> people, Map<Long, String> names) {
    }

    /**
     * The conversation as a context needs it; each part is cached in the scope it comes from. {@code guests}: the
     * people other than its user in it, whom a context may answer, and whose messages are then named as well.
     */
    private record Head(State state, long userId, long characterId, List<Long> members, List<Long> guests, long newestId) {
        boolean hasGuests() {
            return !guests.isEmpty();
        }
    }

    /** A visible message as stored, before its speaker is named. */
    private record Turn(String role, String content, Long characterId, Long userId) {
    }

    /**
     * The conversation's head and its last messages, newest first, read together and cached as one view: the messages
     * are read up to the head's newest, so a head read before a change must not bound messages kept after it (a reader
     * whose own append had been answered was given the context without it, and so was everyone after, until the next change).
     */
    private record Talk(Head head, List<Turn> newestFirst) {
    }

    private final Database database;
    private final ReadCache cache;
    private final Characters characters;
    private final Users users;
    private final CounterBuffer counters;
    private final Recall recall;
    private final Memories memories;

    public ChatContext(Database database, ReadCache cache, Characters characters, Users users, CounterBuffer counters,
                       Recall recall, Memories memories) {
        this.database = database;
        this.cache = cache;
        this.characters = characters;
        this.users = users;
        this.counters = counters;
        this.recall = recall;
        this.memories = memories;
    }

    /**
     * The context the request asks for: the conversation's part ({@link #conversationPart}), then the
     * memories of the person answered that the speaking character keeps, by similarity, else by words, else none.
     */
    public Context build(long appId, ContextRequest request) {
        Built built = conversationPart(appId, request.conversationId(), request.characterId(), request.userId(),
                request.messages());
        if (!request.bySimilarity() && !request.byWords()) {
            return built.context();
        }
        boolean everyone = request.memoriesOf() == ContextRequest.MemoriesOf.EVERYONE;
        List<Long> people = everyone ? built.people() : List.of(built.context().user().id());
        long characterId = built.context().character().id();
        // Everyone's at once, each person's best: by words in one statement; by similarity with one statement for the
        // scopes' versions and one for the memories. From the primary, as the rest of the context: the next reply is
        // written from it, so a lagging replica must not leave out the memory just stored.
        Map<Long, List<Remembered>> each = request.byWords()
                ? memories.searchEach(people, characterId, request.memoryQuery(), built.context().conversation().language(),
                        request.memories())
                : Consistency.primaryOnly(() -> recall.recallEach(appId, people, characterId,
                        RecallRequest.of(request.memoryEmbedding(), request.memories()).inConversation(request.conversationId()),
                        "memory_embedding"));
        List<Remembered> found = new ArrayList<>();
        people.forEach(person -> found.addAll(each.getOrDefault(person, List.of())));
        // Memories of several people, or in a chat whose messages name people, go under each one's name.
        Map<Long, String> names = new HashMap<>();
        if (everyone && (people.size() > 1 || !built.names().isEmpty())) {
            names.putAll(built.names());
            people.forEach(person -> names.computeIfAbsent(person, userId -> personName(appId, userId)));
        }
        return built.context().withMemories(found, names);
    }

    /**
     * The context for {@code characterId}'s next reply (null: the conversation's character) with the last
     * {@code limit} messages. Its parts come from the cache: the conversation's head and messages, the
     * characters and the user, each dropped when what it was read from changes; the counters are those
     * this instance runs ({@link CounterBuffer}).
     */
    private Built conversationPart(long appId, long conversationId, Long characterId, Long userId, int limit) {
        var scope = Scope.conversation(appId, conversationId);
        var running = counters.running(CounterBuffer.Holder.conversation(appId, conversationId)); // before the head is read
        Talk talk = cache.get(scope, "context:" + limit, () -> readTalk(appId, conversationId, limit)).model();
        Head head = talk.head();
        List<Turn> newestFirst = talk.newestFirst();
        long speakerId = characterId == null ? head.characterId() : characterId;
        requireMember(appId, conversationId, head, speakerId);
        CharacterProfile speaker = characters.get(appId, speakerId);
        User user = users.get(appId, answered(conversationId, head, userId));
        Map<Long, String> names = new HashMap<>();
        var context = new Context(head.state().withCounters(running), new Speaker(speaker.id(), speaker.name(), speaker.systemPrompt(),
                speaker.traits(), speaker.metadata()), new Person(user.id(), user.externalId(), user.profile()),
                chat(appId, speaker, head, newestFirst, names), List.of());
        return new Built(context, people(user, newestFirst), names);
    }

    /** The person answered, then each other person who wrote one of the messages, the latest first: MAX_PEOPLE at most. */
    private static List<Long> people(User answered, List<Turn> newestFirst) {
        var people = new LinkedHashSet<Long>(List.of(answered.id()));
        for (Turn turn : newestFirst) {
            if (people.size() == ContextRequest.MAX_PEOPLE) {
                break;
            }
            if (turn.characterId() == null && turn.userId() != null) {
                people.add(turn.userId());
            }
        }
        return List.copyOf(people);
    }

    private Talk readTalk(long appId, long conversationId, int limit) {
        return database.read(handle -> {
            Head head = handle.first(HEAD, row -> new Head(
                    new State(conversationId, row.getString("title"), row.getBoolean("is_group"), row.getString("language"),
                            JsonText.stored(row.getString("state")), JsonText.stored(row.getString("counters"))),
                    row.getLong("user_id"), row.getLong("character_id"), List.of((Long[]) row.getArray("character_ids").getArray()),
                    List.of((Long[]) row.getArray("guest_ids").getArray()), row.getLong("newest_id")), appId, conversationId)
                    .orElseThrow(() -> new NotFound("conversation", conversationId));
            List<Turn> newestFirst = MessageLog.newestFirst(handle, RECENT, OLDER, row -> new Turn(row.getString("role"),
                    row.getString("content"), (Long) row.getObject("author_character_id"), (Long) row.getObject("author_user_id")),
                    appId, conversationId, head.newestId(), limit);
            return new Talk(head, newestFirst);
        });
    }

    /** Whom the context answers: the conversation's user, or a guest named by {@code userId}; anyone else is a 400. */
    private static long answered(long conversationId, Head head, Long userId) {
        if (userId == null || userId == head.userId() || head.guests().contains(userId)) {
            return userId == null ? head.userId() : userId;
        }
        throw new InvalidInput("user_id", "refers to user " + userId + ", who is not a member of conversation " + conversationId);
    }

    /** The speaker must be one of the conversation's characters; one of no conversation, or of no app, is named as such. */
    private void requireMember(long appId, long conversationId, Head head, long speakerId) {
        if (head.members().contains(speakerId)) {
            return;
        }
        try {
            characters.get(appId, speakerId);
        } catch (NotFound e) {
            throw new InvalidInput("character_id", "refers to character " + speakerId + ", which does not exist in this app");
        }
        throw new InvalidInput("character_id", "refers to character " + speakerId
                + ", which is not a member of conversation " + conversationId);
    }

    /**
     * What chat completion takes: the speaker's prompt, then the messages oldest first, each assistant message named
     * by its character, and with several people each person's too (their profile's name, else the app's id for them).
     */
    private List<LlmMessage> chat(long appId, CharacterProfile speaker, Head head, List<Turn> newestFirst, Map<Long, String> people) {
        List<LlmMessage> messages = new ArrayList<>(newestFirst.size() + 1);
        if (!speaker.systemPrompt().isEmpty()) {
            messages.add(new LlmMessage("system", speaker.systemPrompt(), null));
        }
        // Each name worked out once, however often its owner speaks: uncached, every character read is a round trip.
        Map<Long, String> characterNames = new HashMap<>(Map.of(speaker.id(), speaker.name())); // the speaker is a member
        // People are named where several have spoken or may: guests now, or a guest's lines from before they left.
        boolean namesPeople = head.hasGuests()
                || newestFirst.stream().anyMatch(turn -> turn.userId() != null && turn.userId() != head.userId());
        for (Turn turn : newestFirst.reversed()) {
            String name = turn.characterId() != null
                    ? characterNames.computeIfAbsent(turn.characterId(), characterId -> characterName(appId, characterId))
                    : turn.userId() == null || !namesPeople ? null
                    : people.computeIfAbsent(turn.userId(), userId -> personName(appId, userId));
            messages.add(new LlmMessage(turn.role(), turn.content(), name));
        }
        return messages;
    }

    /**
     * The name of a character who wrote in the chat, a member or one that left; one deleted since keeps its lines (in
     * another character's group) under its id, so that the model never reads them as the speaker's own.
     */
    private String characterName(long appId, long characterId) {
        try {
            return characters.get(appId, characterId).name();
        } catch (NotFound deleted) {
            return "character-" + characterId;
        }
    }

    /** A person as the model is told of them: their profile's name, else the app's id for them. */
    private String personName(long appId, long userId) {
        User person = users.get(appId, userId);
        JsonNode name = Json.parse(person.profile().text()).path("name");
        return name.isTextual() && !name.asText().isBlank() ? name.asText() : person.externalId();
    }

}
