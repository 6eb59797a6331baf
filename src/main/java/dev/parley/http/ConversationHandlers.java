package dev.parley.http;

import dev.parley.chat.Conversation;
import dev.parley.chat.ConversationFilter;
import dev.parley.chat.Conversations;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.Members;
import dev.parley.chat.ReadMarkers;
import dev.parley.context.ChatContext;
import dev.parley.context.ContextRequest;
import dev.parley.chat.WindowCounts;
import dev.parley.input.Check;
import dev.parley.input.OriginalTime;
import dev.parley.json.Json;
import dev.parley.search.Languages;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** /v1/conversations: start, read, patch state, move counters, members, mark read, build LLM context. */
final class ConversationHandlers {
    static final int MAX_STATE_KEY_BYTES = 255;

    private final Conversations conversations;
    private final ReadMarkers readMarkers;
    private final Members members;
    private final ChatContext context;
    private final WindowCounts counts;
    private final Languages languages;
    private final Limits limits;
    private final Clock clock;

    ConversationHandlers(Conversations conversations, ReadMarkers readMarkers, Members members, ChatContext context,
                         WindowCounts counts, Languages languages, Limits limits, Clock clock) {
        this.conversations = conversations;
        this.readMarkers = readMarkers;
        this.members = members;
        this.context = context;
        this.counts = counts;
        this.languages = languages;
        this.limits = limits;
        this.clock = clock;
    }

    void create(Context ctx) {
        var input = Requests.body(ctx, Bodies.ConversationInput.class);
        long userId = Check.positive("user_id", input.userId());
        List<Long> characterIds = characterIds(input);
        Map<String, Long> counters = input.counters() == null ? Map.of() : Check.counters("counters", input.counters());
        String language = languages.require("language", input.language());
        var draft = new Conversation.Draft(userId, characterIds, language, Check.text("title", input.title(), Limits.MAX_TITLE_BYTES),
                Check.object("state", input.state(), limits.maxMetadataBytes()), Json.MAPPER.valueToTree(counters),
                externalId("external_id", input.externalId()), OriginalTime.of("created_at", input.createdAt(), clock));
        Responses.json(ctx, 201, conversations.create(Auth.app(ctx), draft));
    }

    void get(Context ctx) {
        Conditional.send(ctx, conversations.rendered(Auth.app(ctx), Params.id(ctx, "conversation_id")));
    }

    void list(Context ctx) {
        var filter = new ConversationFilter(Params.optionalId(ctx, "user_id"), Params.optionalId(ctx, "character_id"),
                Params.jsonObject(ctx, "state", limits.maxMetadataBytes()),
                Check.text("state_has", nonBlank(ctx, "state_has"), MAX_STATE_KEY_BYTES),
                externalId("external_id", nonBlank(ctx, "external_id")));
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long[] position = Cursor.positions(ctx, Cursor.Kind.CONVERSATION, 2);
        var after = position == null ? ConversationFilter.Position.START : new ConversationFilter.Position(position[0], position[1]);
        var listed = Cursor.paged(Cursor.Kind.CONVERSATION, conversations.list(Auth.app(ctx), filter, after, Cursor.probe(limit)),
                limit, c -> new long[] {c.activityId(), c.conversation().id()});
        Responses.json(ctx, new Pages.ConversationPage(listed.page().stream().map(Conversation.Listed::conversation).toList(),
                listed.next()));
    }

    private static String nonBlank(Context ctx, String name) {
        String value = ctx.queryParam(name);
        if (value != null && value.isBlank()) {
            throw new InvalidInput(name, "must not be blank");
        }
        return value;
    }

    private static String externalId(String field, String value) {
        return value == null ? null : Check.requiredNonBlank(field, value, Limits.MAX_EXTERNAL_ID_BYTES);
    }

    void patch(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.patch(ctx, Bodies.ConversationPatch.class);
        boolean titleGiven = input.title() != null;
        if (titleGiven && !input.title().isNull() && !input.title().isTextual()) {
            throw new InvalidInput("title", "must be a string or null");
        }
        String title = titleGiven && input.title().isTextual() ? Check.text("title", input.title().textValue(), Limits.MAX_TITLE_BYTES) : null;
        var statePatch = Check.object("state", input.state(), limits.maxMetadataBytes());
        Responses.json(ctx, conversations.patch(Auth.app(ctx), conversationId, statePatch, titleGiven, title,
                Conditional.requiredVersion(ctx, Conversation.class, conversationId), limits.maxMetadataBytes()));
    }

    void incrementCounters(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        boolean durable = Params.flag(ctx, "durable");
        var deltas = Check.increments(Requests.body(ctx, Bodies.CounterIncrements.class).increments());
        Responses.json(ctx, new Pages.Counters(conversations.incrementCounters(Auth.app(ctx), conversationId, deltas, durable)));
    }

    void markRead(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.ReadInput.class);
        long messageId = Check.positive("message_id", input.messageId());
        Long characterId = Check.optionalPositive("character_id", input.characterId());
        Long userId = AsItsUser.member(ctx, Check.optionalPositive("user_id", input.userId()), characterId);
        if (characterId != null && userId != null) {
            throw new InvalidInput("user_id", "cannot be given together with character_id");
        }
        Members.Kind kind = characterId != null ? Members.Kind.CHARACTER : Members.Kind.USER;
        Responses.json(ctx, readMarkers.markRead(Auth.app(ctx), conversationId, messageId, kind,
                characterId != null ? characterId : userId));
    }

    void context(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        int messages = Params.limit(ctx, "messages", ContextRequest.DEFAULT_MESSAGES, ContextRequest.MAX_MESSAGES);
        Long characterId = Params.optionalId(ctx, "character_id");
        Long userId = Params.optionalId(ctx, "user_id");
        String memoryQuery = Check.text("memory_query", ctx.queryParam("memory_query"), ContextRequest.MAX_MEMORY_QUERY_BYTES);
        String memoriesOf = ctx.queryParam("memories_of");
        memoriesChosenBy(ctx.queryParam("memories") != null, memoriesOf, null, memoryQuery);
        int memoryCount = Params.limit(ctx, "memories", ContextRequest.DEFAULT_MEMORIES, ContextRequest.MAX_MEMORIES);
        Responses.json(ctx, context.build(Auth.app(ctx), new ContextRequest(conversationId, characterId, userId, messages, null,
                memoryQuery, memoryCount, memoriesOf(memoriesOf))));
    }

    /** As {@link #context}, with the memories chosen by similarity to an embedding given in the body. */
    void buildContext(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.ContextInput.class);
        int messages = MemoryHandlers.count("messages", input.messages(), ContextRequest.DEFAULT_MESSAGES,
                ContextRequest.MAX_MESSAGES);
        Long characterId = Check.optionalPositive("character_id", input.characterId());
        Long userId = Check.optionalPositive("user_id", input.userId());
        float[] embedding = input.memoryEmbedding() == null ? null : input.memoryEmbedding().unit("memory_embedding");
        String memoryQuery = Check.text("memory_query", input.memoryQuery(), ContextRequest.MAX_MEMORY_QUERY_BYTES);
        memoriesChosenBy(input.memories() != null, input.memoriesOf(), embedding, memoryQuery);
        int memoryCount = MemoryHandlers.count("memories", input.memories(), ContextRequest.DEFAULT_MEMORIES,
                ContextRequest.MAX_MEMORIES);
        Responses.json(ctx, context.build(Auth.app(ctx), new ContextRequest(conversationId, characterId, userId, messages, embedding,
                memoryQuery, memoryCount, memoriesOf(input.memoriesOf()))));
    }

    /** Whose memories: {@code user} (the default) or {@code everyone}. */
    private static ContextRequest.MemoriesOf memoriesOf(String raw) {
        if (raw == null) {
            return ContextRequest.MemoriesOf.USER;
        }
        for (ContextRequest.MemoriesOf of : ContextRequest.MemoriesOf.values()) {
            if (of.parameter.equals(raw)) {
                return of;
            }
        }
        throw new InvalidInput("memories_of", "must be " + ContextRequest.MEMORIES_OF_USER + " or " + ContextRequest.MEMORIES_OF_EVERYONE
                + ", got '" + Check.printable(raw) + "'");
    }

    /**
     * A context's memories are chosen one way, by an embedding or by words, and a count or whose memories
     * ({@code memoriesOf}) needs one of them.
     */
    private static void memoriesChosenBy(boolean countGiven, String memoriesOf, float[] embedding, String memoryQuery) {
        if (memoryQuery != null && memoryQuery.isBlank()) {
            throw new InvalidInput("memory_query", "must hold at least one word");
        }
        if (embedding != null && memoryQuery != null) {
            throw new InvalidInput("memory_query", "cannot be given with memory_embedding: the memories are chosen by one of them");
        }
        if (countGiven && embedding == null && memoryQuery == null) {
            throw new InvalidInput("memories", "is how many memories to choose by memory_embedding or memory_query: give one of them");
        }
        if (memoriesOf != null && embedding == null && memoryQuery == null) {
            throw new InvalidInput("memories_of", "is whose memories to choose by memory_embedding or memory_query: give one of them");
        }
    }

    void members(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        Responses.json(ctx, new Pages.Members(members.list(Auth.app(ctx), conversationId)));
    }

    void addMember(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.MemberInput.class);
        if ((input.userId() == null) == (input.characterId() == null)) {
            throw new InvalidInput("user_id", "or character_id is required, and only one of the two");
        }
        Members.Kind kind = input.userId() != null ? Members.Kind.USER : Members.Kind.CHARACTER;
        long memberId = Check.positive(kind.field(), kind == Members.Kind.USER ? input.userId() : input.characterId());
        Members.Added added = members.add(Auth.app(ctx), conversationId, kind, memberId);
        Responses.json(ctx, added.created() ? 201 : 200, added.member());
    }

    void removeUser(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        members.remove(Auth.app(ctx), conversationId, Members.Kind.USER, Params.id(ctx, "user_id"));
        ctx.status(204);
    }

    void removeCharacter(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        members.remove(Auth.app(ctx), conversationId, Members.Kind.CHARACTER, Params.id(ctx, "character_id"));
        ctx.status(204);
    }

    void stats(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        Duration window = Params.window(ctx, "window", null, WindowCounts.MAX_WINDOW);
        long appId = Auth.app(ctx);
        Responses.json(ctx, counts.conversation(appId, conversationId, window));
    }

    private static List<Long> characterIds(Bodies.ConversationInput input) {
        if (input.characterId() != null && input.characterIds() != null) {
            throw new InvalidInput("character_ids", "cannot be given together with character_id");
        }
        if (input.characterId() != null) {
            return List.of(Check.positive("character_id", input.characterId()));
        }
        if (input.characterIds() == null) {
            throw new InvalidInput("character_id", "is required (or character_ids for a group chat)");
        }
        if (input.characterIds().isEmpty()) {
            throw new InvalidInput("character_ids", "is empty: name at least one character");
        }
        if (input.characterIds().size() > Limits.MAX_GROUP_CHARACTERS) {
            throw new InvalidInput("character_ids", "has " + input.characterIds().size() + " entries; the limit is "
                    + Limits.MAX_GROUP_CHARACTERS);
        }
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < input.characterIds().size(); i++) {
            long id = Check.positive("character_ids[" + i + "]", input.characterIds().get(i));
            if (ids.contains(id)) { // kept once, a group of two would quietly be a chat with one
                throw new InvalidInput("character_ids[" + i + "]", "names character " + id + " again; each character once");
            }
            ids.add(id);
        }
        return ids;
    }
}
