package dev.parley.http;

import dev.parley.chat.ChatContext;
import dev.parley.chat.Conversation;
import dev.parley.chat.Conversations;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Stats;
import dev.parley.chat.WindowCounts;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.search.Languages;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** /v1/conversations: start, read, patch state, move counters, mark read, build LLM context. */
final class ConversationHandlers {
    private static final int MAX_TITLE_BYTES = 500;
    private static final int DEFAULT_CONTEXT_MESSAGES = 20;
    private static final int DEFAULT_CONTEXT_MEMORIES = 5;
    private static final int MAX_CONTEXT_MEMORIES = 50;
    private static final int MAX_MEMORY_QUERY_BYTES = 1000;

    private final Conversations conversations;
    private final ReadMarkers readMarkers;
    private final ChatContext context;
    private final Stats stats;
    private final WindowCounts counts;
    private final Recall recall;
    private final Memories memories;
    private final Languages languages;
    private final Limits limits;

    ConversationHandlers(Conversations conversations, ReadMarkers readMarkers, ChatContext context, Stats stats,
                         WindowCounts counts, Recall recall, Memories memories, Languages languages, Limits limits) {
        this.conversations = conversations;
        this.readMarkers = readMarkers;
        this.context = context;
        this.stats = stats;
        this.counts = counts;
        this.recall = recall;
        this.memories = memories;
        this.languages = languages;
        this.limits = limits;
    }

    void create(Context ctx) {
        var input = Requests.body(ctx, Bodies.ConversationInput.class);
        long userId = Check.positive("user_id", input.userId());
        List<Long> characterIds = characterIds(input);
        Map<String, Long> counters = input.counters() == null ? Map.of() : Check.counters("counters", input.counters());
        String language = languages.require("language", input.language());
        var draft = new Conversation.Draft(userId, characterIds, language, Check.text("title", input.title(), MAX_TITLE_BYTES),
                Check.object("state", input.state(), limits.maxMetadataBytes()), Json.MAPPER.valueToTree(counters));
        Responses.json(ctx, 201, conversations.create(Auth.app(ctx), draft));
    }

    void get(Context ctx) {
        Conditional.send(ctx, conversations.rendered(Auth.app(ctx), Params.id(ctx, "conversation_id")));
    }

    void list(Context ctx) {
        long characterId = Params.requiredId(ctx, "character_id");
        Long userId = Params.optionalId(ctx, "user_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long before = Cursor.position(ctx, Cursor.Kind.CONVERSATION, Long.MAX_VALUE);
        List<Conversation> page = conversations.listByCharacter(Auth.app(ctx), characterId, userId, before, limit);
        Responses.json(ctx, new Pages.ConversationPage(page,
                Cursor.next(Cursor.Kind.CONVERSATION, page, limit, c -> new long[] {c.id()})));
    }

    void patch(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.ConversationPatch.class);
        boolean titleGiven = input.title() != null;
        if (titleGiven && !input.title().isNull() && !input.title().isTextual()) {
            throw new InvalidInput("title", "must be a string or null");
        }
        String title = titleGiven && input.title().isTextual() ? Check.text("title", input.title().textValue(), MAX_TITLE_BYTES) : null;
        var statePatch = Check.object("state", input.state(), limits.maxMetadataBytes());
        Responses.json(ctx, conversations.patch(Auth.app(ctx), conversationId, statePatch, titleGiven, title,
                limits.maxMetadataBytes()));
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
        Responses.json(ctx, readMarkers.markRead(Auth.app(ctx), conversationId, messageId, characterId));
    }

    void context(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        int messages = Params.limit(ctx, "messages", DEFAULT_CONTEXT_MESSAGES, Limits.MAX_HISTORY_PAGE);
        Long characterId = Params.optionalId(ctx, "character_id");
        String memoryQuery = Check.text("memory_query", ctx.queryParam("memory_query"), MAX_MEMORY_QUERY_BYTES);
        int memoryCount = Params.limit(ctx, "memories", DEFAULT_CONTEXT_MEMORIES, MAX_CONTEXT_MEMORIES);
        long appId = Auth.app(ctx);
        var built = context.build(appId, conversationId, characterId, messages);
        Responses.json(ctx, withMemories(appId, built, null, memoryQuery, memoryCount));
    }

    /** As {@link #context}, with the memories chosen by similarity to an embedding given in the body. */
    void buildContext(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        var input = Requests.body(ctx, Bodies.ContextInput.class);
        int messages = MemoryHandlers.count("messages", input.messages(), DEFAULT_CONTEXT_MESSAGES, Limits.MAX_HISTORY_PAGE);
        Long characterId = Check.optionalPositive("character_id", input.characterId());
        float[] embedding = input.memoryEmbedding() == null ? null : input.memoryEmbedding().unit("memory_embedding");
        String memoryQuery = Check.text("memory_query", input.memoryQuery(), MAX_MEMORY_QUERY_BYTES);
        int memoryCount = MemoryHandlers.count("memories", input.memories(), DEFAULT_CONTEXT_MEMORIES, MAX_CONTEXT_MEMORIES);
        long appId = Auth.app(ctx);
        var built = context.build(appId, conversationId, characterId, messages);
        Responses.json(ctx, withMemories(appId, built, embedding, memoryQuery, memoryCount));
    }

    /** The most relevant memories of the user held by the speaking character: by similarity, else by words, else none. */
    private ChatContext.Context withMemories(long appId, ChatContext.Context built, float[] embedding, String query, int count) {
        long userId = built.user().id();
        long characterId = built.character().id();
        if (embedding != null) {
            return built.withMemories(recall.recall(appId, userId, characterId, RecallRequest.of(embedding, count),
                    "memory_embedding").remembered());
        }
        if (query != null && !query.isBlank()) {
            String language = built.conversation().language();
            return built.withMemories(memories.search(appId, userId, characterId, query, language, count).stream()
                    .map(Memories.Found::remembered).toList());
        }
        return built;
    }

    void stats(Context ctx) {
        long conversationId = Params.id(ctx, "conversation_id");
        Duration window = Params.window(ctx, "window", null, WindowCounts.MAX_WINDOW);
        long appId = Auth.app(ctx);
        Responses.json(ctx, counts.conversation(appId, conversationId, stats.conversation(appId, conversationId), window));
    }

    private static List<Long> characterIds(Bodies.ConversationInput input) {
        if (input.characterId() != null && input.characterIds() != null) {
            throw new InvalidInput("character_ids", "cannot be given together with character_id");
        }
        if (input.characterId() != null) {
            return List.of(Check.positive("character_id", input.characterId()));
        }
        if (input.characterIds() == null || input.characterIds().isEmpty()) {
            throw new InvalidInput("character_id", "is required (or character_ids for a group chat)");
        }
        if (input.characterIds().size() > Limits.MAX_GROUP_CHARACTERS) {
            throw new InvalidInput("character_ids", "has " + input.characterIds().size() + " entries; the limit is "
                    + Limits.MAX_GROUP_CHARACTERS);
        }
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < input.characterIds().size(); i++) {
            ids.add(Check.positive("character_ids[" + i + "]", input.characterIds().get(i)));
        }
        return ids;
    }
}
