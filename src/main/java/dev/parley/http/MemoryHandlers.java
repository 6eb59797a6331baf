package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.UserReach;
import dev.parley.input.Check;
import dev.parley.input.OriginalTime;
import dev.parley.memory.Memories;
import dev.parley.memory.Memory;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.search.Languages;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;

/** /v1/users/{user_id}/memories and /v1/memories: store, read, change, forget, recall by similarity. */
final class MemoryHandlers {
    /** Recall's bounds on a memory's half-life (days) and on each weight of its score. */
    static final double MIN_HALF_LIFE_DAYS = 0.001;
    static final double MAX_HALF_LIFE_DAYS = 36_500;
    static final double MAX_WEIGHT = 10;

    private final Memories memories;
    private final Recall recall;
    private final Languages languages;
    private final UserReach reach;
    private final Limits limits;
    private final Clock clock;

    MemoryHandlers(Memories memories, Recall recall, Languages languages, UserReach reach, Limits limits, Clock clock) {
        this.memories = memories;
        this.recall = recall;
        this.languages = languages;
        this.reach = reach;
        this.limits = limits;
        this.clock = clock;
    }

    void create(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.MemoryInput.class);
        Memory.Draft draft = draft(ctx, "", input);
        AsItsUser.remembers(ctx, "", draft.characterId(), reach);
        Responses.json(ctx, 201, memories.create(Auth.app(ctx), userId, draft));
    }

    void createBatch(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.MemoryBatch.class);
        if (input.memories() == null) {
            throw new InvalidInput("memories", "is required: the list of 1 to " + Limits.MAX_BATCH + " memories to store");
        }
        if (input.memories().isEmpty()) {
            throw new InvalidInput("memories", "must hold at least one memory");
        }
        if (input.memories().size() > Limits.MAX_BATCH) {
            throw new InvalidInput("memories", "holds " + input.memories().size() + " memories; the limit is " + Limits.MAX_BATCH);
        }
        List<Memory.Draft> drafts = new ArrayList<>();
        Set<Long> characters = new HashSet<>(); // a batch is mostly of one character: each is checked once
        for (int i = 0; i < input.memories().size(); i++) {
            String prefix = "memories[" + i + "].";
            var item = input.memories().get(i);
            if (item == null) {
                throw new InvalidInput("memories[" + i + "]", "must be a memory object");
            }
            Memory.Draft draft = draft(ctx, prefix, item);
            if (characters.add(draft.characterId())) {
                AsItsUser.remembers(ctx, prefix, draft.characterId(), reach);
            }
            drafts.add(draft);
        }
        Responses.json(ctx, 201, new Pages.StoredMemories(memories.createAll(Auth.app(ctx), userId, drafts)));
    }

    /**
     * A memory as sent, checked (a user token's as of now); {@code prefix} goes before each field's name in errors
     * ("memories[3].").
     */
    private Memory.Draft draft(Context ctx, String prefix, Bodies.MemoryInput input) {
        AsItsUser.asOfNow(ctx, prefix, input.createdAt());
        return new Memory.Draft(
                Check.positive(prefix + "character_id", input.characterId()),
                Check.optionalPositive(prefix + "conversation_id", input.conversationId()),
                Check.requiredNonBlank(prefix + "content", input.content(), limits.maxContentBytes()),
                between(prefix + "importance", input.importance(), 0, 1, Memory.DEFAULT_IMPORTANCE),
                languages.require(prefix + "language", input.language()),
                Check.object(prefix + "metadata", input.metadata(), limits.maxMetadataBytes()),
                input.embedding() == null ? null : input.embedding().unit(prefix + "embedding"),
                OriginalTime.of(prefix + "created_at", input.createdAt(), clock));
    }

    void list(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        long characterId = Params.requiredId(ctx, "character_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        String words = Check.text("q", ctx.queryParam("q"), SearchHandlers.MAX_QUERY_BYTES);
        Memories.Order order = order(ctx, words);
        var filter = new Memories.Filter(Params.jsonObject(ctx, "metadata", limits.maxMetadataBytes()),
                importance(ctx, "min_importance"), importance(ctx, "max_importance"));
        if (filter.minImportance() != null && filter.maxImportance() != null && filter.minImportance() > filter.maxImportance()) {
            throw new InvalidInput("max_importance", "(" + filter.maxImportance() + ") is below min_importance ("
                    + filter.minImportance() + ")");
        }
        Cursor.Kind kind = cursorKind(order);
        if (kind == null && ctx.queryParam("cursor") != null) {
            throw new InvalidInput("cursor", "a listing by relevance is one page, the best matches up to limit: it takes no cursor");
        }
        Object[] after = kind == null ? null : after(order, scoped(ctx, kind, order == Memories.Order.NEWEST ? 1 : 2, userId,
                characterId));
        if (words == null && ctx.queryParam("language") != null) {
            throw new InvalidInput("language", "is the language of q's words: give it with q");
        }
        String language = words == null ? null : languages.require("language", ctx.queryParam("language"));
        // By relevance a listing is one page (the best matches up to limit); in the other orders it is paged.
        List<Memory> rows = memories.list(Auth.app(ctx), userId, characterId,
                new Memories.Listing(order, filter, after, words, language, kind == null ? limit : Cursor.probe(limit)));
        var listed = kind == null ? new Cursor.Paged<>(rows, null)
                : Cursor.paged(kind, rows, limit, m -> LongStream.concat(LongStream.of(cursorPositions(order, m)),
                        LongStream.of(userId, characterId)).toArray());
        Responses.json(ctx, new Pages.MemoryPage(listed.page(), listed.next()));
    }

    /**
     * order as asked: newest (default), importance, recent, or relevance (the default when q is given, and needs q). In
     * the other orders q only filters, and the listing is paged.
     */
    private static Memories.Order order(Context ctx, String words) {
        String raw = ctx.queryParam("order");
        if (words != null && words.isBlank()) {
            throw new InvalidInput("q", "must hold at least one word");
        }
        if (raw == null) {
            return words == null ? Memories.Order.NEWEST : Memories.Order.RELEVANCE;
        }
        Memories.Order order = switch (raw) {
            case "newest" -> Memories.Order.NEWEST;
            case "importance" -> Memories.Order.IMPORTANCE;
            case "recent" -> Memories.Order.RECENT;
            case "relevance" -> Memories.Order.RELEVANCE;
            default -> throw new InvalidInput("order", "must be newest, importance, recent or relevance, got '"
                    + Check.printable(raw) + "'");
        };
        if (order == Memories.Order.RELEVANCE && words == null) {
            throw new InvalidInput("q", "is required to order by relevance");
        }
        return order;
    }

    private static final java.util.regex.Pattern JSON_NUMBER = java.util.regex.Pattern.compile(
            "-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

    private static Double importance(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return null;
        }
        double value;
        try {
            // A JSON number: Double.parseDouble also reads Java's own forms (0x1p-2, 0.5f, 0.5d), which no client means
            if (!JSON_NUMBER.matcher(raw).matches()) {
                throw new NumberFormatException(raw);
            }
            value = Double.parseDouble(raw);
        } catch (NumberFormatException e) {
            throw new InvalidInput(name, "must be a number between 0 and 1, got '" + Check.printable(raw) + "'");
        }
        return between(name, value, 0, 1, 0);
    }

    private static Cursor.Kind cursorKind(Memories.Order order) {
        return switch (order) {
            case NEWEST -> Cursor.Kind.MEMORY;
            case IMPORTANCE -> Cursor.Kind.MEMORY_BY_IMPORTANCE;
            case RECENT -> Cursor.Kind.MEMORY_RECENT;
            case RELEVANCE -> null;
        };
    }

    /** A cursor's positions as the listing's keyset takes them; null for a first page. */
    /**
     * The {@code count} positions of the request's cursor, which carries its user and character too: memory ids are
     * ordered across scopes, so another scope's cursor would page through this one from an arbitrary point.
     */
    private static long[] scoped(Context ctx, Cursor.Kind kind, int count, long userId, long characterId) {
        long[] positions = Cursor.positions(ctx, kind, count + 2);
        if (positions == null) {
            return null;
        }
        if (positions[count] != userId || positions[count + 1] != characterId) {
            throw new InvalidInput("cursor", "is a cursor of another user's or character's memories; page with the cursors "
                    + "of user " + userId + "'s memories of character " + characterId);
        }
        return Arrays.copyOf(positions, count);
    }

    private static Object[] after(Memories.Order order, long[] positions) {
        if (positions == null) {
            return null;
        }
        return switch (order) {
            case NEWEST -> new Object[] {positions[0]};
            case IMPORTANCE -> new Object[] {Float.intBitsToFloat((int) positions[0]), positions[1]};
            case RECENT -> new Object[] {Instant.EPOCH.plus(positions[0], ChronoUnit.MICROS), positions[1]};
            case RELEVANCE -> throw new IllegalArgumentException("a relevance listing has no cursor");
        };
    }

    private static long[] cursorPositions(Memories.Order order, Memory memory) {
        return switch (order) {
            case NEWEST -> new long[] {memory.id()};
            case IMPORTANCE -> new long[] {Float.floatToIntBits(memory.importance()), memory.id()};
            case RECENT -> new long[] {ChronoUnit.MICROS.between(Instant.EPOCH, memory.createdAt()), memory.id()};
            case RELEVANCE -> throw new IllegalArgumentException("a relevance listing has no cursor");
        };
    }

    void get(Context ctx) {
        Responses.json(ctx, memories.get(Auth.app(ctx), Params.id(ctx, "memory_id")));
    }

    void update(Context ctx) {
        long memoryId = Params.id(ctx, "memory_id");
        var input = Requests.patch(ctx, Bodies.MemoryPatch.class);
        if (input.content() != null) {
            Check.requiredNonBlank("content", input.content(), limits.maxContentBytes());
        }
        var change = new Memory.Change(input.content(),
                input.importance() == null ? null : between("importance", input.importance(), 0, 1, 0),
                Check.object("metadata", input.metadata(), limits.maxMetadataBytes()),
                input.embedding() == null ? null : input.embedding().unit("embedding"));
        Responses.json(ctx, memories.update(Auth.app(ctx), memoryId, change, Conditional.requiredTag(ctx)));
    }

    void delete(Context ctx) {
        memories.delete(Auth.app(ctx), Params.id(ctx, "memory_id"), Conditional.requiredTag(ctx));
        ctx.status(204);
    }

    void recall(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.RecallInput.class);
        long characterId = Check.positive("character_id", input.characterId());
        RecallRequest request = recallRequest(input);
        if (request.conversationId() != null) { // a context names its own, known to be the user's
            memories.checkConversation(Auth.app(ctx), userId, request.conversationId());
        }
        Responses.json(ctx, recall.recall(Auth.app(ctx), userId, characterId, request, "embedding"));
    }

    private static RecallRequest recallRequest(Bodies.RecallInput input) {
        if (input.embedding() == null) {
            throw new InvalidInput("embedding", "is required: the query's vector, from the model the memories were embedded with");
        }
        return new RecallRequest(input.embedding().unit("embedding"),
                count("limit", input.limit(), RecallRequest.DEFAULT_LIMIT, RecallRequest.MAX_LIMIT),
                between("min_similarity", input.minSimilarity(), -1, 1, RecallRequest.DEFAULT_MIN_SIMILARITY),
                input.adaptive() == null || input.adaptive(),
                between("half_life_days", input.halfLifeDays(), MIN_HALF_LIFE_DAYS, MAX_HALF_LIFE_DAYS, RecallRequest.DEFAULT_HALF_LIFE_DAYS),
                between("recency_weight", input.recencyWeight(), 0, MAX_WEIGHT, RecallRequest.DEFAULT_RECENCY_WEIGHT),
                between("importance_weight", input.importanceWeight(), 0, MAX_WEIGHT, RecallRequest.DEFAULT_IMPORTANCE_WEIGHT),
                Check.optionalPositive("conversation_id", input.conversationId()),
                conversationWeight(input));
    }

    /** How much a memory of the request's conversation gains; it needs the conversation to be named. */
    private static double conversationWeight(Bodies.RecallInput input) {
        if (input.conversationWeight() != null && input.conversationId() == null) {
            throw new InvalidInput("conversation_weight", "needs conversation_id: the conversation whose memories it favours");
        }
        return between("conversation_weight", input.conversationWeight(), 0, MAX_WEIGHT, RecallRequest.DEFAULT_CONVERSATION_WEIGHT);
    }

    static int count(String field, Integer value, int fallback, int max) {
        if (value == null) {
            return fallback;
        }
        if (value < 1 || value > max) {
            throw new InvalidInput(field, "must be between 1 and " + max + ", got " + value);
        }
        return value;
    }

    /** {@code value} when it lies within [min, max], {@code fallback} when it is absent. */
    private static double between(String field, Double value, double min, double max, double fallback) {
        if (value == null) {
            return fallback;
        }
        if (!(value >= min && value <= max)) {
            throw new InvalidInput(field, "must be between " + plain(min) + " and " + plain(max) + ", got " + value);
        }
        return value;
    }

    private static String plain(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }
}
