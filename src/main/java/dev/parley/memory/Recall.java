package dev.parley.memory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.ConcurrentStatsCounter;
import com.github.benmanes.caffeine.cache.stats.StatsCounter;
import dev.parley.cache.Invalidations;
import dev.parley.cache.ReadCache;
import dev.parley.chat.InvalidInput;
import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recall by similarity within one (user, character). The scope's vectors are read from the
 * database once and kept in memory, keyed by the scope's version, and reloaded only when a write has
 * moved it, on this instance or any other. Scoring is exact (see {@link RecallScorer}).
 *
 * <p>With a {@link ReadCache}, the version too is known without asking: it is kept with the user's views
 * ({@code recall:<character>}), which every memory write drops, here after its commit and on the other
 * instances when they hear of it (V27), and the memories a recall returned are kept with the vectors of that
 * version. A warm scope's recall then reads nothing from PostgreSQL; what it does read, it reads from the
 * primary, as every cache fill does. Without one (the bench's raw target), each recall reads the version.
 */
public final class Recall {
    private static final Logger LOG = LoggerFactory.getLogger(Recall.class);
    static final Query SCOPE = new Query("memory.scope_version", """
            SELECT version, dims, embedded FROM memory_scopes WHERE app_id = ? AND user_id = ? AND character_id = ?""");

    // Several scopes at once: several people's of one character (a group's context), or one user's of several
    // characters (a warm-up).
    static final Query SCOPES = new Query("memory.scope_versions", """
            SELECT user_id, character_id, version, dims, embedded FROM memory_scopes
             WHERE app_id = ? AND user_id = ANY(?) AND character_id = ANY(?)""");

    // A row's xmin is the transaction that wrote this version of it: an insert or an update makes a new one, so a
    // memory whose xmin is the one held in memory has not changed since it was read.
    private static final String HELD_COLUMNS = """
            m.memory_id, m.xmin::text::bigint, m.importance, m.created_at, m.embedding, coalesce(m.conversation_id, 0)""";

    static final Query LOAD_SCOPE = new Query("memory.load_scope", """
            SELECT %s FROM memories m
             WHERE app_id = ? AND user_id = ? AND character_id = ? AND embedding IS NOT NULL
             ORDER BY memory_id""".formatted(HELD_COLUMNS));

    // The memories written at or after a version (V29 stamps each row with its scope's version as it is written), and
    // the version at or after which a memory last left the scope: one row with no memory when none was written.
    static final Query CHANGED_SINCE = new Query("memory.changed_since", """
            SELECT %s, s.removed_version
              FROM memory_scopes s
              LEFT JOIN memories m ON m.app_id = s.app_id AND m.user_id = s.user_id AND m.character_id = s.character_id
                                  AND m.scope_version >= ?
             WHERE s.app_id = ? AND s.user_id = ? AND s.character_id = ?
             ORDER BY m.memory_id""".formatted(HELD_COLUMNS));

    static final Query SCOPE_ROWS = new Query("memory.scope_rows", """
            SELECT memory_id, xmin::text::bigint FROM memories
             WHERE app_id = ? AND user_id = ? AND character_id = ? AND embedding IS NOT NULL
             ORDER BY memory_id""");

    // By id alone, as memory.get_many (the primary key): the ids come from SCOPE_ROWS, and a memory never moves to
    // another scope.
    static final Query LOAD_ROWS = new Query("memory.load_rows", """
            SELECT %s FROM memories m
             WHERE app_id = ? AND memory_id = ANY(?) AND embedding IS NOT NULL
             ORDER BY memory_id""".formatted(HELD_COLUMNS));

    static final Query GET_MANY = new Query("memory.get_many", """
            SELECT %s FROM memories WHERE app_id = ? AND memory_id = ANY(?)""".formatted(Memories.COLUMNS));

    /**
     * How many ids {@link #GET_MANY} is always given: a generic plan costs an array parameter at ten elements,
     * a custom plan at its real count, so with fewer the custom plan always looked cheaper and the plan cache
     * planned the statement at every call (pg_stat_statements: 0.14-0.23 ms of planning beside 0.06-0.10 ms of
     * execution). At ten or more the generic plan wins after the first five calls of a session.
     */
    static final int PLANNED_IDS = 10;

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(SCOPE, SCOPES, GET_MANY);

    /** One recalled memory with its cosine similarity to the query and its final score. */
    public record Recalled(Memory memory, double similarity, double score) {
    }

    /** The memories recalled, best first; {@code threshold} is the similarity they had to reach. */
    public record Result(double threshold, int considered, List<Recalled> memories) {
    }

    private record Scope(long appId, long userId, long characterId) {
    }

    /**
     * A scope's row in memory_scopes, with how many of its memories have an embedding (V38); {@link #NONE} when it has
     * none (no memories yet, or no such user or character).
     */
    private record Version(long version, Integer dims, int embedded) {
        static final Version NONE = new Version(-1, null, 0);

        boolean exists() {
            return version >= 0;
        }
    }

    private static final RowMapper<Version> VERSION = row -> {
        int dims = row.getInt(2);
        Integer knownDims = row.wasNull() ? null : dims; // asked at once: wasNull speaks of the last column read
        return new Version(row.getLong(1), knownDims, row.getInt(3));
    };

    /** One row of {@link #SCOPES}: a scope at its version, the dimensions of its embeddings (null: none) and their number. */
    private record ScopeAt(Scope scope, long version, Integer dims, int embedded) {
    }

    /** The scopes of each of {@code userIds} with each of {@code characterIds} that have memories. */
    private static List<ScopeAt> scopes(Handle handle, long appId, List<Long> userIds, List<Long> characterIds) throws SQLException {
        return handle.list(SCOPES, row -> {
            int dims = row.getInt(4);
            Integer knownDims = row.wasNull() ? null : dims;
            return new ScopeAt(new Scope(appId, row.getLong(1), row.getLong(2)), row.getLong(3), knownDims, row.getInt(5));
        }, appId, handle.array("bigint", padded(userIds)), handle.array("bigint", padded(characterIds)));
    }

    /** One row of {@link #LOAD_SCOPE} or {@link #LOAD_ROWS}; {@code conversationId} 0 when the memory has none. */
    private record Held(long id, long rowVersion, float importance, long createdMillis, byte[] embedding, long conversationId) {
        static final RowMapper<Held> ROW = row -> new Held(row.getLong(1), row.getLong(2), row.getFloat(3),
                row.getTimestamp(4).getTime(), row.getBytes(5), row.getLong(6));
    }

    /** One row of {@link #SCOPE_ROWS}: a memory and the version of its row. */
    private record RowVersion(long id, long rowVersion) {
    }

    /** One row of {@link #CHANGED_SINCE}: a memory written since (null: none was), and the scope's removed_version. */
    private record Written(Held row, long removedVersion) {
        static final RowMapper<Written> ROW = row -> new Written(row.getObject(1) == null ? null : Held.ROW.map(row), row.getLong(7));
    }

    /** One for the process: its threads are sized by the cores, whatever the number of Recalls. */
    private static final RecallScoring SCORING = RecallScoring.forThisMachine();

    private final Database database;
    private final ReadCache cache;
    private final Clock clock;
    private final long scopeBytes;
    private final Cache<Scope, ScopeVectors> vectors;
    // Recorded by hand: the cache is used through compute(), which Caffeine does not count.
    private final StatsCounter stats = new ConcurrentStatsCounter();
    private final Counter embeddingsRead;

    /**
     * Recalls from {@code database}, holding up to {@code cacheBytes} of vectors; each recall reads its scope's version.
     * Scopes hold the default PARLEY_MEMORY_SCOPE_LIMIT at most.
     */
    public Recall(Database database, Clock clock, long cacheBytes, MeterRegistry registry) {
        this(database, ReadCache.none(), clock, cacheBytes, Settings.DEFAULT_MEMORY_SCOPE_BYTES, registry);
    }

    /**
     * As above, with the scopes' versions kept in {@code cache} while no write is heard of (unless it caches nothing);
     * a scope with more than {@code scopeBytes} of embeddings (stored before PARLEY_MEMORY_SCOPE_LIMIT was lowered) is
     * refused before a byte of it is read.
     */
    public Recall(Database database, ReadCache cache, Clock clock, long cacheBytes, long scopeBytes, MeterRegistry registry) {
        this.database = database;
        this.cache = cache;
        this.clock = clock;
        this.scopeBytes = scopeBytes;
        this.vectors = Caffeine.newBuilder()
                .maximumWeight(cacheBytes)
                .weigher((Scope scope, ScopeVectors held) -> held.weight())
                .recordStats(() -> stats)
                .build();
        CaffeineCacheMetrics.monitor(registry, vectors, "recall_vectors");
        Gauge.builder(Metrics.RECALL_BYTES, vectors, held -> held.policy().eviction().orElseThrow().weightedSize().orElse(0))
                .description(Metrics.RECALL_BYTES_HELP).register(registry);
        this.embeddingsRead = Counter.builder(Metrics.RECALL_EMBEDDINGS_READ).description(Metrics.RECALL_EMBEDDINGS_READ_HELP)
                .register(registry);
    }

    /**
     * Says how this JVM compares embeddings, and warns when it is without the Vector API: for a server to call as it
     * starts serving recall. Not in the constructor: every operator command makes a Recall (an erasure's, which
     * scores nothing), and each warned about a speed it never needed.
     */
    public static void sayHowItScores() {
        if (DotProduct.BEST.lanes() > 1) {
            LOG.info("Recall compares embeddings {} floats at a time (jdk.incubator.vector)", DotProduct.BEST.lanes());
        } else {
            LOG.warn("Recall compares embeddings one float at a time, about 4x slower for large scopes: start Java with "
                    + "--add-modules jdk.incubator.vector, as the parley launcher starts serve and bench");
        }
    }

    /** The scope {@code held} scored for {@code request}: a large one off the carrier threads ({@link RecallScoring}). */
    private RecallScorer.Scored score(ScopeVectors held, RecallRequest request) {
        long now = clock.millis();
        return SCORING.score((long) held.size() * request.embedding().length,
                () -> RecallScorer.score(held, request.embedding(), request, now));
    }

    /** The notices an erasure announces (V10's channel): "erased-user:app:user", "erased-character:app:character". */
    public static final String ERASED_USER = "erased-user";
    public static final String ERASED_CHARACTER = "erased-character";

    /** Drops the vectors of erased users and characters as soon as any instance announces them. */
    public void followErasures(Invalidations invalidations) {
        invalidations.subscribe(ERASED_USER, ids -> forget(ids, (scope, id) -> scope.userId() == id), vectors::invalidateAll);
        invalidations.subscribe(ERASED_CHARACTER, ids -> forget(ids, (scope, id) -> scope.characterId() == id),
                vectors::invalidateAll);
    }

    /** Drops the vectors of every scope of the user: an erased user's embeddings stay in no memory. */
    public void forgetUser(long appId, long userId) {
        vectors.asMap().keySet().removeIf(scope -> scope.appId() == appId && scope.userId() == userId);
    }

    /** Drops the vectors of every scope of the character. */
    public void forgetCharacter(long appId, long characterId) {
        vectors.asMap().keySet().removeIf(scope -> scope.appId() == appId && scope.characterId() == characterId);
    }

    /** "app:id" of a notice: the scopes of that app that {@code of} matches with the id are dropped; a malformed notice is ignored. */
    private void forget(String ids, java.util.function.BiPredicate<Scope, Long> of) {
        String[] parts = ids.split(":");
        if (parts.length != 2) {
            return;
        }
        try {
            long appId = Long.parseLong(parts[0]);
            long id = Long.parseLong(parts[1]);
            vectors.asMap().keySet().removeIf(scope -> scope.appId() == appId && of.test(scope, id));
        } catch (NumberFormatException e) {
            // not one of ours
        }
    }

    /** {@code embeddingField} names the request field that carried the query vector, for a dimension mismatch. */
    public Result recall(long appId, long userId, long characterId, RecallRequest request, String embeddingField) {
        var scope = new Scope(appId, userId, characterId);
        if (cache.enabled()) {
            return recallKnown(scope, request, embeddingField);
        }
        return database.readNearby(handle -> {
            Version version = handle.first(SCOPE, VERSION, appId, userId, characterId).orElse(Version.NONE);
            if (!version.exists()) { // no memories yet, or no such user or character: which?
                Memories.requireScope(handle, appId, userId, characterId); // a read: a standby may answer it
                return new Result(request.minSimilarity(), 0, List.of());
            }
            checkDimensions(version.dims(), request, embeddingField, userId, characterId);
            checkSize(version.dims(), version.embedded(), scope);
            ScopeVectors held = current(handle, scope, version.version());
            RecallScorer.Scored scored = score(held, request);
            List<Long> ids = idsOf(held, scored.hits());
            return new Result(scored.threshold(), held.size(), recalled(held, scored.hits(), read(handle, appId, ids)));
        });
    }

    /**
     * A recall with the scope's version from the cache: the vectors of that version and the memories returned from
     * memory when held, else read from the primary (a replica behind the version would load older rows under it).
     */
    private Result recallKnown(Scope scope, RecallRequest request, String embeddingField) {
        List<ScopeAt> known = knownScopes(scope.appId(), List.of(scope.userId()), List.of(scope.characterId()));
        if (known.isEmpty()) { // no memories yet, or no such user or character: which?
            database.read(handle -> {
                Memories.requireScope(handle, scope.appId(), scope.userId(), scope.characterId());
                return null;
            });
            return new Result(request.minSimilarity(), 0, List.of());
        }
        checkDimensions(known.getFirst().dims(), request, embeddingField, scope.userId(), scope.characterId());
        checkSize(known.getFirst());
        ScopeVectors held = heldAt(known.getFirst());
        RecallScorer.Scored scored = score(held, request);
        Map<Long, Memory> rows = rowsOf(scope.appId(), List.of(new ScoredScope(scope, held, scored.hits())));
        return new Result(scored.threshold(), held.size(), recalled(held, scored.hits(), rows));
    }

    /** One person's scope as a recall scored it: its vectors and its best memories. */
    private record ScoredScope(Scope scope, ScopeVectors held, List<RecallScorer.Hit> hits) {
        List<Long> ids() {
            return idsOf(held, hits);
        }
    }

    /**
     * The scopes of each of {@code userIds} with each of {@code characterIds} that have memories, at the versions the
     * cache knows; the versions it does not know are read together, in one statement, from the primary.
     */
    private List<ScopeAt> knownScopes(long appId, List<Long> userIds, List<Long> characterIds) {
        Map<ReadCache.Key, Scope> scopeOf = new LinkedHashMap<>();
        for (long userId : userIds) {
            for (long characterId : characterIds) {
                scopeOf.put(new ReadCache.Key(dev.parley.cache.Scope.user(appId, userId), "recall:" + characterId),
                        new Scope(appId, userId, characterId));
            }
        }
        Map<ReadCache.Key, Version> versions = cache.getEach(List.copyOf(scopeOf.keySet()), missed -> {
            List<Scope> wanted = missed.stream().map(scopeOf::get).toList();
            Map<Scope, Version> read = new HashMap<>();
            database.read(handle -> scopes(handle, appId, wanted.stream().map(Scope::userId).distinct().toList(),
                    wanted.stream().map(Scope::characterId).distinct().toList()))
                    .forEach(at -> read.put(at.scope(), new Version(at.version(), at.dims(), at.embedded())));
            Map<ReadCache.Key, Version> each = new HashMap<>();
            missed.forEach(key -> each.put(key, read.getOrDefault(scopeOf.get(key), Version.NONE)));
            return each;
        });
        List<ScopeAt> known = new ArrayList<>();
        scopeOf.forEach((key, scope) -> {
            Version version = versions.get(key);
            if (version.exists()) {
                known.add(new ScopeAt(scope, version.version(), version.dims(), version.embedded()));
            }
        });
        return known;
    }

    /** The scope's vectors at its version or newer: those held, else read from the primary. */
    private ScopeVectors heldAt(ScopeAt at) {
        ScopeVectors held = vectors.asMap().get(at.scope()); // uncounted by Caffeine: a hit here, or current()'s miss
        if (held != null && held.version() >= at.version()) {
            stats.recordHits(1);
            return held;
        }
        return database.read(handle -> current(handle, at.scope(), at.version()));
    }

    /**
     * The memories of each scope's hits by id: those its vectors keep, and the rest read from the primary in one
     * statement and kept with them. A memory's row changes only with its scope's version, so what was read at or
     * after a version serves every recall that finds that version current.
     */
    private Map<Long, Memory> rowsOf(long appId, List<ScoredScope> scored) {
        Map<Long, Memory> byId = new HashMap<>();
        List<Long> missing = new ArrayList<>();
        for (ScoredScope scope : scored) {
            for (long id : scope.ids()) {
                Memory kept = scope.held().rows().get(id);
                if (kept != null) {
                    byId.put(id, kept);
                } else {
                    missing.add(id);
                }
            }
        }
        if (!missing.isEmpty()) {
            Map<Long, Memory> read = database.read(handle -> read(handle, appId, missing));
            byId.putAll(read);
            for (ScoredScope scope : scored) {
                List<Memory> own = scope.ids().stream().map(read::get).filter(Objects::nonNull).toList();
                if (scope.held().keep(own)) {
                    vectors.asMap().replace(scope.scope(), scope.held(), scope.held()); // weighed again, with the rows
                }
            }
        }
        return byId;
    }

    /**
     * What {@code characterId} remembers of each of {@code userIds} (people known to exist: a context's), by
     * similarity, best first: one statement reads every scope's version, each scope is scored from memory as
     * {@link #recall} scores it, and one statement reads all their memories. Each person maps to a list,
     * empty when the character keeps no memories of them.
     */
    public Map<Long, List<Remembered>> recallEach(long appId, List<Long> userIds, long characterId, RecallRequest request,
                                                  String embeddingField) {
        if (cache.enabled()) {
            List<ScoredScope> scored = new ArrayList<>();
            for (ScopeAt at : knownScopes(appId, userIds, List.of(characterId))) {
                checkDimensions(at.dims(), request, embeddingField, at.scope().userId(), characterId);
                checkSize(at);
                scored.add(scored(at, heldAt(at), request));
            }
            return each(userIds, scored, rowsOf(appId, scored));
        }
        return database.readNearby(handle -> {
            List<ScoredScope> scored = new ArrayList<>();
            for (ScopeAt at : scopes(handle, appId, userIds, List.of(characterId))) {
                checkDimensions(at.dims(), request, embeddingField, at.scope().userId(), characterId);
                checkSize(at);
                scored.add(scored(at, current(handle, at.scope(), at.version()), request));
            }
            return each(userIds, scored, read(handle, appId, scored.stream().flatMap(scope -> scope.ids().stream()).toList()));
        });
    }

    /** The scope {@code at} scored from {@code held}. */
    private ScoredScope scored(ScopeAt at, ScopeVectors held, RecallRequest request) {
        return new ScoredScope(at.scope(), held, score(held, request).hits());
    }

    /** Each of {@code userIds}' memories of {@code scored} in order, from {@code byId}; empty for a person without any. */
    private static Map<Long, List<Remembered>> each(List<Long> userIds, List<ScoredScope> scored, Map<Long, Memory> byId) {
        Map<Long, ScoredScope> byUser = new HashMap<>();
        scored.forEach(scope -> byUser.put(scope.scope().userId(), scope));
        Map<Long, List<Remembered>> each = new LinkedHashMap<>();
        for (long userId : userIds) {
            ScoredScope scope = byUser.get(userId);
            List<Recalled> recalled = scope == null ? List.of() : recalled(scope.held(), scope.hits(), byId);
            each.put(userId, recalled.stream().map(r -> Remembered.of(r.memory(), r.score())).toList());
        }
        return each;
    }

    /**
     * Reads into memory, as a recall would, the vectors of {@code userId}'s memories that each of {@code characterIds}
     * keeps, so that the first recall of each after a login is answered from memory (POST …/warm); returns how many
     * embeddings are held for them.
     */
    public int warm(long appId, long userId, Collection<Long> characterIds) {
        if (characterIds.isEmpty()) {
            return 0;
        }
        if (cache.enabled()) { // the versions too, so that the first recall reads only the memories it returns
            int held = 0;
            for (ScopeAt at : knownScopes(appId, List.of(userId), List.copyOf(characterIds))) {
                held += fits(at) ? heldAt(at).size() : 0;
            }
            return held;
        }
        return database.readNearby(handle -> {
            int held = 0;
            for (ScopeAt at : scopes(handle, appId, List.of(userId), List.copyOf(characterIds))) {
                held += fits(at) ? current(handle, at.scope(), at.version()).size() : 0;
            }
            return held;
        });
    }

    /** Whether the scope's embeddings are within PARLEY_MEMORY_SCOPE_LIMIT: only such a scope is read into memory. */
    private boolean fits(ScopeAt at) {
        return Memories.fits(at.embedded(), at.dims(), scopeBytes);
    }

    private void checkSize(ScopeAt at) {
        checkSize(at.dims(), at.embedded(), at.scope());
    }

    /**
     * Refuses to read a scope with more embeddings than PARLEY_MEMORY_SCOPE_LIMIT (stored before the limit was lowered, or
     * on a server with a higher one): a 409 that says how to shrink it, rather than a heap full of it.
     */
    private void checkSize(Integer dims, int embedded, Scope scope) {
        if (!Memories.fits(embedded, dims, scopeBytes)) {
            throw Memories.scopeFull(null, "user " + scope.userId() + "'s memories of character " + scope.characterId()
                    + " hold " + Memories.embeddings(embedded) + " of " + dims + " dimensions, more than the " + Memories.sized(scopeBytes)
                    + " of embeddings one scope may hold (PARLEY_MEMORY_SCOPE_LIMIT), so recall does not read them: "
                    + "delete some of them, or ask the operator to raise the limit");
        }
    }

    /** A query vector must have the dimensions of the scope's (null: a scope whose memories have no embeddings). */
    private static void checkDimensions(Integer dims, RecallRequest request, String embeddingField, long userId, long characterId) {
        if (dims != null && dims != request.embedding().length) {
            throw new InvalidInput(embeddingField, "has " + request.embedding().length + " dimensions, but user " + userId
                    + "'s memories of character " + characterId + " have " + dims);
        }
    }

    /**
     * The scope's vectors at {@code version} or newer: from memory; else read once while other callers wait, only
     * the memories written since when an older version is held.
     */
    private ScopeVectors current(Handle handle, Scope scope, long version) throws SQLException {
        try {
            return vectors.asMap().compute(scope, (key, held) -> {
                if (held != null && held.version() >= version) {
                    stats.recordHits(1);
                    return held;
                }
                stats.recordMisses(1);
                long started = System.nanoTime();
                try {
                    ScopeVectors loaded = held == null || held.size() == 0 ? load(handle, key, version)
                            : refresh(handle, key, held, version);
                    stats.recordLoadSuccess(System.nanoTime() - started);
                    return loaded;
                } catch (SQLException e) {
                    stats.recordLoadFailure(System.nanoTime() - started);
                    throw new LoadFailed(e);
                }
            });
        } catch (LoadFailed e) {
            throw e.cause;
        }
    }

    /**
     * Scores a made-up scope until the JIT has compiled the scoring, for a server to call as it starts: interpreted,
     * the Vector API is slow (10,000 comparisons of 768 numbers took 164 ms the first time in a new JVM, 1 ms once
     * compiled), and the first recalls would pay it (docs/benchmarks.md).
     */
    public static void compileScoring() {
        int dims = 768;
        int size = 1_000;
        var vectors = new float[size * dims];
        for (int i = 0; i < size; i++) {
            vectors[i * dims + i % dims] = 1; // unit vectors along the axes
        }
        var scope = ScopeVectors.of(0, dims, new long[size], new long[size], vectors, new float[size], new long[size], new long[size]);
        float[] query = new float[dims];
        query[0] = 1;
        // A threshold every memory reaches: each is compared through its 8-bit copy and exactly, so both are compiled.
        RecallRequest request = new RecallRequest(query, 10, -1, false, RecallRequest.DEFAULT_HALF_LIFE_DAYS,
                RecallRequest.DEFAULT_RECENCY_WEIGHT, RecallRequest.DEFAULT_IMPORTANCE_WEIGHT, null, 0);
        int found = 0;
        for (int round = 0; round < 20; round++) {
            found += RecallScorer.score(scope, query, request, 0).hits().size();
        }
        if (found == 0) { // the results are used, so the scoring cannot be left out
            throw new IllegalStateException("a made-up scope's own axis was not recalled");
        }
    }

    /** Carries a SQLException out of the cache's compute function, which cannot throw it. */
    private static final class LoadFailed extends RuntimeException {
        final SQLException cause;

        LoadFailed(SQLException cause) {
            super(cause);
            this.cause = cause;
        }
    }

    private ScopeVectors load(Handle handle, Scope scope, long version) throws SQLException {
        List<Held> rows = handle.listInBinary(LOAD_SCOPE, Held.ROW, scope.appId(), scope.userId(), scope.characterId());
        embeddingsRead.increment(rows.size());
        int dims = rows.isEmpty() ? 0 : rows.getFirst().embedding().length / Float.BYTES;
        var layout = new Layout(rows.size());
        rows.forEach(layout::read);
        return layout.build(version, dims, null);
    }

    /**
     * The scope's vectors after writes since {@code held} was read: the memories written since its version are read
     * (V29), and the others come from {@code held}, and so do its chunks of vectors that no write touched: a memory
     * added (the newest id, so the last) makes a new last chunk, not a copy of the scope (docs/benchmarks.md). When a
     * memory has left the scope since, every memory's id and row version is listed instead, to find which.
     */
    private ScopeVectors refresh(Handle handle, Scope scope, ScopeVectors held, long version) throws SQLException {
        List<Written> since = handle.listInBinary(CHANGED_SINCE, Written.ROW, held.version(), scope.appId(), scope.userId(),
                scope.characterId());
        if (since.isEmpty() || since.getFirst().removedVersion() >= held.version()) { // no scope (erased), or a removal
            return listed(handle, scope, held, version);
        }
        Map<Long, Held> read = new HashMap<>();
        List<RowVersion> now = new ArrayList<>(held.size() + since.size());
        int k = 0;
        for (Written written : since) { // by memory_id, as held
            Held row = written.row();
            if (row == null) {
                break; // none written
            }
            for (; k < held.size() && held.ids()[k] < row.id(); k++) {
                now.add(new RowVersion(held.ids()[k], held.rowVersions()[k]));
            }
            if (k < held.size() && held.ids()[k] == row.id()) {
                k++; // replaced by the row written
            }
            if (row.embedding() != null) {
                now.add(new RowVersion(row.id(), row.rowVersion()));
                read.put(row.id(), row);
            }
        }
        for (; k < held.size(); k++) {
            now.add(new RowVersion(held.ids()[k], held.rowVersions()[k]));
        }
        return rebuilt(handle, scope, held, version, now, read);
    }

    /** As {@link #refresh}, from a list of every memory's id and row version: those that changed are read. */
    private ScopeVectors listed(Handle handle, Scope scope, ScopeVectors held, long version) throws SQLException {
        List<RowVersion> now = handle.list(SCOPE_ROWS, row -> new RowVersion(row.getLong(1), row.getLong(2)),
                scope.appId(), scope.userId(), scope.characterId());
        return rebuilt(handle, scope, held, version, now, Map.of());
    }

    /**
     * The vectors of the memories {@code now} lists, by id: those whose row version {@code held} has are kept, the others
     * taken from {@code read} or else read. When most have changed, the scope is read whole.
     */
    private ScopeVectors rebuilt(Handle handle, Scope scope, ScopeVectors held, long version, List<RowVersion> now,
                                 Map<Long, Held> written) throws SQLException {
        int[] keptAt = new int[now.size()]; // where each memory is in held, -1 when it must be read
        List<Long> changed = new ArrayList<>();
        int k = 0;
        for (int i = 0; i < now.size(); i++) {
            RowVersion row = now.get(i);
            while (k < held.size() && held.ids()[k] < row.id()) {
                k++;
            }
            boolean same = k < held.size() && held.ids()[k] == row.id() && held.rowVersions()[k] == row.rowVersion();
            keptAt[i] = same ? k : -1;
            if (!same && !written.containsKey(row.id())) {
                changed.add(row.id());
            }
        }
        if (changed.size() * 2 > now.size()) {
            return load(handle, scope, version);
        }
        Map<Long, Held> read = new HashMap<>(written);
        if (!changed.isEmpty()) {
            handle.listInBinary(LOAD_ROWS, Held.ROW, scope.appId(), handle.array("bigint", padded(changed)))
                    .forEach(row -> read.put(row.id(), row));
        }
        embeddingsRead.increment(read.size());
        if (read.values().stream().anyMatch(row -> row.embedding().length != held.dims() * Float.BYTES)) {
            return load(handle, scope, version); // the scope was emptied and refilled with another model's embeddings
        }
        var layout = new Layout(now.size());
        boolean[] unchanged = new boolean[held.size()]; // by position in held: the memory moves to the new version as is
        for (int i = 0; i < now.size(); i++) {
            if (keptAt[i] >= 0) {
                layout.keep(keptAt[i]);
                unchanged[keptAt[i]] = true;
            } else if (read.containsKey(now.get(i).id())) { // absent: deleted since its id was listed
                layout.read(read.get(now.get(i).id()));
            }
        }
        ScopeVectors current = layout.build(version, held.dims(), held);
        // The rows held of unchanged memories serve the new version as they served the old: a recall right after a
        // write reads none of the memories it returned before.
        current.keep(held.rows().values().stream()
                .filter(memory -> {
                    int at = Arrays.binarySearch(held.ids(), memory.id());
                    return at >= 0 && unchanged[at];
                }).toList());
        return current;
    }

    /** Where each memory of a scope's new vectors comes from, in memory_id order: a row read, or one held already. */
    private static final class Layout {
        private final int[] keptAt; // per memory: its index in the vectors held, or -1 when read
        private final Held[] read;
        private int size;

        Layout(int capacity) {
            this.keptAt = new int[capacity];
            this.read = new Held[capacity];
        }

        void keep(int heldIndex) {
            keptAt[size++] = heldIndex;
        }

        void read(Held row) {
            keptAt[size] = -1;
            read[size++] = row;
        }

        /** The vectors, sharing each chunk of {@code held} whose memories all stay where they were. */
        ScopeVectors build(long version, int dims, ScopeVectors held) {
            long[] ids = new long[size];
            long[] rowVersions = new long[size];
            float[] importance = new float[size];
            long[] created = new long[size];
            long[] conversations = new long[size];
            for (int i = 0; i < size; i++) {
                int from = keptAt[i];
                ids[i] = from >= 0 ? held.ids()[from] : read[i].id();
                rowVersions[i] = from >= 0 ? held.rowVersions()[from] : read[i].rowVersion();
                importance[i] = from >= 0 ? held.importance()[from] : read[i].importance();
                created[i] = from >= 0 ? held.createdMillis()[from] : read[i].createdMillis();
                conversations[i] = from >= 0 ? held.conversations()[from] : read[i].conversationId();
            }
            int perChunk = ScopeVectors.rowsPerChunk(dims);
            var chunks = new ScopeVectors.Chunk[(size + perChunk - 1) / perChunk];
            for (int c = 0; c < chunks.length; c++) {
                int first = c * perChunk;
                int end = Math.min(first + perChunk, size);
                if (held != null && unmoved(first, end)) {
                    chunks[c] = held.chunks()[c];
                    continue;
                }
                var vectors = new float[(end - first) * dims]; // the last chunk no larger than its rows
                for (int i = first; i < end; i++) {
                    int at = (i - first) * dims;
                    if (keptAt[i] >= 0) {
                        held.copyVector(keptAt[i], vectors, at);
                    } else {
                        Embedding.decode(read[i].embedding(), vectors, at);
                    }
                }
                chunks[c] = ScopeVectors.Chunk.of(vectors, dims);
            }
            return new ScopeVectors(version, dims, perChunk, ids, rowVersions, chunks, importance, created, conversations);
        }

        /** Whether memories {@code first} to {@code end} are the held ones at the same places. */
        private boolean unmoved(int first, int end) {
            for (int i = first; i < end; i++) {
                if (keptAt[i] != i) {
                    return false;
                }
            }
            return true;
        }
    }

    private static List<Long> idsOf(ScopeVectors held, List<RecallScorer.Hit> hits) {
        return hits.stream().map(hit -> held.ids()[hit.index()]).toList();
    }

    /** The memories of these ids, by id: those deleted since their vectors were read are missing. */
    private static Map<Long, Memory> read(Handle handle, long appId, List<Long> ids) throws SQLException {
        Map<Long, Memory> byId = new HashMap<>();
        if (!ids.isEmpty()) {
            handle.list(GET_MANY, Memories.ROW, appId, handle.array("bigint", padded(ids))).forEach(m -> byId.put(m.id(), m));
        }
        return byId;
    }

    private static List<Recalled> recalled(ScopeVectors held, List<RecallScorer.Hit> hits, Map<Long, Memory> byId) {
        List<Recalled> recalled = new ArrayList<>();
        for (RecallScorer.Hit hit : hits) {
            Memory memory = byId.get(held.ids()[hit.index()]);
            if (memory != null) { // null: deleted since the vectors were read
                recalled.add(new Recalled(memory, hit.similarity(), hit.score()));
            }
        }
        return recalled;
    }

    /** {@code ids} with the last repeated up to {@link #PLANNED_IDS}: the index scan reads each distinct key once. */
    static Long[] padded(List<Long> ids) {
        Long[] padded = ids.toArray(new Long[Math.max(ids.size(), PLANNED_IDS)]);
        Arrays.fill(padded, ids.size(), padded.length, ids.getLast());
        return padded;
    }
}
