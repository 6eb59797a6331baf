package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.memory.Memories;
import dev.parley.memory.Memory;
import dev.parley.memory.Recall;
import dev.parley.memory.RecallRequest;
import dev.parley.search.Languages;
import io.javalin.http.Context;
import java.util.List;

/** /v1/users/{user_id}/memories and /v1/memories: store, read, change, forget, recall by similarity. */
final class MemoryHandlers {
    private static final double DEFAULT_IMPORTANCE = 0.5;

    private final Memories memories;
    private final Recall recall;
    private final Languages languages;
    private final Limits limits;

    MemoryHandlers(Memories memories, Recall recall, Languages languages, Limits limits) {
        this.memories = memories;
        this.recall = recall;
        this.languages = languages;
        this.limits = limits;
    }

    void create(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.MemoryInput.class);
        var draft = new Memory.Draft(
                Check.positive("character_id", input.characterId()),
                Check.requiredNonBlank("content", input.content(), limits.maxContentBytes()),
                between("importance", input.importance(), 0, 1, DEFAULT_IMPORTANCE),
                languages.require("language", input.language()),
                Check.object("metadata", input.metadata(), limits.maxMetadataBytes()),
                input.embedding() == null ? null : input.embedding().unit("embedding"));
        Responses.json(ctx, 201, memories.create(Auth.app(ctx), userId, draft));
    }

    void list(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        long characterId = Params.requiredId(ctx, "character_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long before = Cursor.position(ctx, Cursor.Kind.MEMORY, Long.MAX_VALUE);
        List<Memory> page = memories.list(Auth.app(ctx), userId, characterId, before, limit);
        Responses.json(ctx, new Pages.MemoryPage(page, Cursor.next(Cursor.Kind.MEMORY, page, limit, m -> new long[] {m.id()})));
    }

    void get(Context ctx) {
        Responses.json(ctx, memories.get(Auth.app(ctx), Params.id(ctx, "memory_id")));
    }

    void update(Context ctx) {
        long memoryId = Params.id(ctx, "memory_id");
        var input = Requests.body(ctx, Bodies.MemoryPatch.class);
        if (input.content() != null) {
            Check.requiredNonBlank("content", input.content(), limits.maxContentBytes());
        }
        var change = new Memory.Change(input.content(),
                input.importance() == null ? null : between("importance", input.importance(), 0, 1, 0),
                Check.object("metadata", input.metadata(), limits.maxMetadataBytes()),
                input.embedding() == null ? null : input.embedding().unit("embedding"));
        Responses.json(ctx, memories.update(Auth.app(ctx), memoryId, change));
    }

    void delete(Context ctx) {
        memories.delete(Auth.app(ctx), Params.id(ctx, "memory_id"));
        ctx.status(204);
    }

    void recall(Context ctx) {
        long userId = Params.id(ctx, "user_id");
        var input = Requests.body(ctx, Bodies.RecallInput.class);
        long characterId = Check.positive("character_id", input.characterId());
        Responses.json(ctx, recall.recall(Auth.app(ctx), userId, characterId, recallRequest(input), "embedding"));
    }

    private static RecallRequest recallRequest(Bodies.RecallInput input) {
        if (input.embedding() == null) {
            throw new InvalidInput("embedding", "is required: the query's vector, from the model the memories were embedded with");
        }
        return new RecallRequest(input.embedding().unit("embedding"),
                count("limit", input.limit(), RecallRequest.DEFAULT_LIMIT, RecallRequest.MAX_LIMIT),
                between("min_similarity", input.minSimilarity(), -1, 1, RecallRequest.DEFAULT_MIN_SIMILARITY),
                input.adaptive() == null || input.adaptive(),
                between("half_life_days", input.halfLifeDays(), 0.001, 36_500, RecallRequest.DEFAULT_HALF_LIFE_DAYS),
                between("recency_weight", input.recencyWeight(), 0, 10, RecallRequest.DEFAULT_RECENCY_WEIGHT),
                between("importance_weight", input.importanceWeight(), 0, 10, RecallRequest.DEFAULT_IMPORTANCE_WEIGHT));
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
