package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.chat.Conflict;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.NotFound;
import dev.parley.chat.StaleVersion;
import dev.parley.chat.UserReach;
import dev.parley.chat.Users;
import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import dev.parley.search.MessageSearch;
import dev.parley.search.Snippets;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Memories: stored, read, changed and forgotten. Every write moves its scope's version in the same
 * transaction, which is how {@link Recall} caches on any instance learn that their vectors are stale: this
 * instance drops the versions it knows of the user's scopes (the user's views in the {@link ReadCache}) after the
 * commit, before it answers, and the others when they hear the change announced (V27).
 */
public final class Memories {
    static final String COLUMNS = """
            memory_id, external_id, user_id, character_id, conversation_id, content, importance, language::text AS language, metadata,
            octet_length(embedding) / 4 AS dims, created_at, updated_at""";

    // A memory's user, character and conversation are held until its write commits, as foreign keys would hold them
    // (FOR KEY SHARE): a deletion locks its subject's row first, so it either finds the memory or is waited for and
    // the write finds the row gone. Without it a memory written while its character or conversation was deleted stayed.
    private static final String REFERENCES = """
            SELECT EXISTS (SELECT 1 FROM users WHERE app_id = :app_id AND user_id = :user_id %1$s) AS user_exists,
                   EXISTS (SELECT 1 FROM characters WHERE app_id = :app_id AND character_id = :character_id %1$s)
                       AS character_exists""";
    static final NamedQuery CHECK_REFERENCES = NamedQuery.of("memory.check_references", REFERENCES.formatted("FOR KEY SHARE"));
    // A read's: it holds nothing, and runs where reads run.
    static final NamedQuery READ_REFERENCES = NamedQuery.of("memory.read_references", REFERENCES.formatted(""));

    /** Whether a scope's user and character exist. */
    private record References(boolean userExists, boolean characterExists) {
    }

    static final Query USER_EXISTS = new Query("memory.user_exists", """
            SELECT 1 FROM users WHERE app_id = ? AND user_id = ? FOR KEY SHARE""");

    static final Query CHARACTER_EXISTS = new Query("memory.character_exists", """
            SELECT 1 FROM characters WHERE app_id = ? AND character_id = ? FOR KEY SHARE""");

    // Takes the scope's row lock, so writes to one scope queue up and the dims check cannot race. It names the
    // transaction's origin (V25) for the notice its trigger sends (V27): the writer drops the user's views itself.
    static final Query TOUCH_SCOPE = new Query("memory.touch_scope", """
            INSERT INTO memory_scopes AS s (app_id, user_id, character_id, dims)
            SELECT ?::bigint, ?::bigint, ?::bigint, ?::integer FROM (SELECT set_config('parley.origin', ?, true)) origin
            ON CONFLICT (app_id, user_id, character_id) DO UPDATE
               SET version = s.version + 1, dims = coalesce(s.dims, excluded.dims)
            RETURNING dims, embedded""");

    static final Query INSERT = new Query("memory.insert", """
            INSERT INTO memories (app_id, user_id, character_id, conversation_id, content, importance, language, metadata,
                                  embedding, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?::regconfig, ?::jsonb, ?, coalesce(?, now()))
            RETURNING %s""".formatted(COLUMNS));

    static final Query EXISTS_IMPORTED = new Query("memory.exists_imported", """
            SELECT 1 FROM memories WHERE app_id = ? AND external_id = ?""");

    static final Query INSERT_IMPORTED = new Query("memory.insert_imported", """
            INSERT INTO memories (app_id, user_id, character_id, conversation_id, content, importance, language, metadata,
                                  embedding, created_at, external_id)
            VALUES (?, ?, ?, ?, ?, ?, ?::regconfig, ?::jsonb, ?, coalesce(?, now()), ?)
            ON CONFLICT (app_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
            RETURNING memory_id""");

    static final Query GET = new Query("memory.get", """
            SELECT %s FROM memories WHERE app_id = ? AND memory_id = ?""".formatted(COLUMNS));

    static final Query GET_FOR_UPDATE = new Query("memory.get_for_update", """
            SELECT %s FROM memories WHERE app_id = ? AND memory_id = ? FOR UPDATE""".formatted(COLUMNS));

    static final Query UPDATE = new Query("memory.update", """
            UPDATE memories
               SET content = coalesce(?, content),
                   importance = coalesce(?, importance),
                   metadata = coalesce(?::jsonb, metadata),
                   embedding = coalesce(?, embedding),
                   updated_at = now()
             WHERE app_id = ? AND memory_id = ?
            RETURNING %s""".formatted(COLUMNS));

    static final Query DELETE = new Query("memory.delete", """
            DELETE FROM memories WHERE app_id = ? AND memory_id = ?
            RETURNING user_id, character_id""");

    /** How a page of one scope's memories is ordered; each order has its statement and its index. */
    public enum Order {
        /** Newest stored first (memory_id), through memories_scope_idx; the default. */
        NEWEST("memory.list", "(memory_id) < (?)", "memory_id DESC"),
        /** Most important first, through memories_importance_idx, which also serves an importance range. */
        IMPORTANCE("memory.list_by_importance", "(importance, memory_id) < (?::real, ?)", "importance DESC, memory_id DESC"),
        /** Latest recorded first (created_at: imports keep their original time), through memories_recent_idx. */
        RECENT("memory.list_recent", "(created_at, memory_id) < (?, ?)", "created_at DESC, memory_id DESC"),
        /** Best match of the words first, through memories_words_idx; one page, no cursor. */
        RELEVANCE("memory.list_relevant", null, "rank DESC, memory_id DESC");

        final String queryName;
        final String after;
        final String orderBy;

        Order(String queryName, String after, String orderBy) {
            this.queryName = queryName;
            this.after = after;
            this.orderBy = orderBy;
        }
    }

    /** Narrows a listing; a null field does not. {@code metadata}: an object the memory's metadata must contain. */
    public record Filter(JsonNode metadata, Double minImportance, Double maxImportance) {
        public static final Filter NONE = new Filter(null, null, null);
    }

    /**
     * A page of one user's memories of one character. {@code after} is the previous page's last row's sort
     * key (memory_id; importance and memory_id; created_at and memory_id), null for the first page;
     * {@code words} (null: any) in {@code language} are the words the memories must match, which RELEVANCE ranks by.
     */
    public record Listing(Order order, Filter filter, Object[] after, String words, String language, int limit) {
    }

    /** A statement with its arguments, in order. */
    record Bound(Query query, Object[] args) {
    }

    // The memories whose words match "asked" (a CTE of the statement: the words as parsed, the scope's tokens), each
    // ranked; a query of stop words alone ("the") matches nothing rather than the whole scope.
    private static final String RANKED_MATCHES = """
            SELECT %s, ts_rank_cd(words, (SELECT query FROM asked)) AS rank
              FROM memories
             WHERE words @@ ((SELECT query FROM asked) && (SELECT scope FROM asked))
               AND numnode((SELECT query FROM asked)) > 0""".formatted(COLUMNS);

    // Words in one user's memories (of one character when the scope says so), a page of them. The scope
    // is the tsquery's tokens ('~u:7 & ~h:3'), null (so nothing matches) unless the user is this app's:
    // the check travels with the search, one round trip. No column filter the plan could start from, so a
    // generic plan has no index but the words' (as in MessageSearch): the cursor's keys are compared on the
    // matches the words index found. The words as parsed come back with each hit, for its snippet (Snippets).
    // The arguments are bound once, in "asked": the words as parsed, the scope's tokens if the app's user
    // (app id, user id) exists, the page's size, and the cursor's keys: a rank (relevance) or a created_at
    // (recent, null on the first page), and a memory id.
    private static final String ASKED = """
            WITH asked AS (SELECT websearch_to_tsquery(?::regconfig, ?) AS query,
                                  (SELECT ?::tsquery FROM users WHERE app_id = ? AND user_id = ?) AS scope, ?::int AS size,
                                  ?::%s AS after_key, ?::bigint AS after_id)""";

    // By relevance: every match ranked; the page past the cursor, ranked below it or equal and older (memory_id).
    static final Query SEARCH = new Query("search.memories", ASKED.formatted("real") + """

            SELECT hit.*, (SELECT query FROM asked)::text AS words
              FROM (SELECT ranked.*
                      FROM (%s) ranked
                     WHERE (ranked.rank, ranked.memory_id) < ((SELECT after_key FROM asked), (SELECT after_id FROM asked))
                     ORDER BY ranked.rank DESC, ranked.memory_id DESC
                     LIMIT (SELECT size FROM asked)) hit
             ORDER BY hit.rank DESC, hit.memory_id DESC""".formatted(RANKED_MATCHES));

    // Recent: latest created_at first (imports keep their original time), as a recent listing orders them; the
    // page past the cursor's (created_at, memory_id), each hit ranked too.
    static final Query SEARCH_RECENT = new Query("search.memories_recent", ASKED.formatted("timestamptz") + """

            SELECT hit.*, (SELECT query FROM asked)::text AS words
              FROM (%s
                       AND ((SELECT after_key FROM asked) IS NULL
                            OR (created_at, memory_id) < ((SELECT after_key FROM asked), (SELECT after_id FROM asked)))
                     ORDER BY created_at DESC, memory_id DESC
                     LIMIT (SELECT size FROM asked)) hit
             ORDER BY hit.created_at DESC, hit.memory_id DESC""".formatted(RANKED_MATCHES));

    // The same search for a context, of one person or several at once: any of their tokens in the scope
    // ('~u:7' | '~u:9') & '~h:3', and each person's best :size, ranked within their own.
    static final NamedQuery SEARCH_EACH = NamedQuery.of("search.memories_each", """
            WITH asked AS (SELECT websearch_to_tsquery(:language::regconfig, :text) AS query, :scope::tsquery AS scope)
            SELECT ranked.*
              FROM (SELECT hit.*, row_number() OVER (PARTITION BY hit.user_id ORDER BY hit.rank DESC, hit.memory_id DESC) AS nth
                      FROM (%s) hit) ranked
             WHERE ranked.nth <= :size
             ORDER BY ranked.rank DESC, ranked.memory_id DESC""".formatted(RANKED_MATCHES));

    /** A memory whose words match a search, with its rank and a highlighted snippet. */
    public record Found(Memory memory, float rank, String snippet) {
    }

    /**
     * Where a search's next page starts: past the hit with this rank (by relevance) or created_at (recent) and
     * memory id, the last of the page before. {@link #START} for the first page in either order.
     */
    public record SearchAfter(float rank, Instant createdAt, long memoryId) {
        public static final SearchAfter START = new SearchAfter(Float.POSITIVE_INFINITY, null, Long.MAX_VALUE);

        public static SearchAfter ranked(float rank, long memoryId) {
            return new SearchAfter(rank, null, memoryId);
        }

        public static SearchAfter created(Instant createdAt, long memoryId) {
            return new SearchAfter(Float.POSITIVE_INFINITY, createdAt, memoryId);
        }
    }

    static final RowMapper<Memory> ROW = row -> {
        int dims = row.getInt("dims");
        Integer knownDims = row.wasNull() ? null : dims;
        long conversationId = row.getLong("conversation_id");
        Long knownConversation = row.wasNull() ? null : conversationId;
        return new Memory(row.getLong("memory_id"), row.getString("external_id"), row.getLong("user_id"), row.getLong("character_id"),
                knownConversation,
                row.getString("content"), row.getFloat("importance"), row.getString("language"),
                JsonText.stored(row.getString("metadata")), knownDims,
                row.getTimestamp("created_at").toInstant(), row.getTimestamp("updated_at").toInstant());
    };

    // Every memory of a user, all characters, with its embedding: what an export hands over.
    static final Query OF_USER = new Query("memory.of_user", """
            SELECT %s, encode(embedding, 'base64') AS embedding FROM memories
             WHERE app_id = ? AND user_id = ? AND memory_id > ?
             ORDER BY memory_id LIMIT ?""".formatted(COLUMNS));

    /** A memory with its embedding as base64 of little-endian float32 (as the API takes it); null without one. */
    public record WithEmbedding(@JsonUnwrapped Memory memory, @Nullable String embedding) {
    }

    private final Database database;
    private final ReadCache cache;
    private final Snippets snippets;
    private final long scopeBytes;

    /**
     * Memories in {@code database}, their writes dropping what {@code cache} knows of the users' scopes, their search
     * snippets made by {@code snippets} (one per process: it caches stems); a write that would take a scope's
     * embeddings past {@code scopeBytes} (PARLEY_MEMORY_SCOPE_LIMIT) is refused.
     */
    public Memories(Database database, ReadCache cache, Snippets snippets, long scopeBytes) {
        this.database = database;
        this.cache = cache;
        this.snippets = snippets;
        this.scopeBytes = scopeBytes;
    }

    /** As above, for a command that caches nothing: a running server hears of its writes when they commit (V27). */
    public Memories(Database database, Snippets snippets, long scopeBytes) {
        this(database, ReadCache.none(), snippets, scopeBytes);
    }

    /** As above, with the default bound of a scope's embeddings. */
    public Memories(Database database, Snippets snippets) {
        this(database, snippets, Settings.DEFAULT_MEMORY_SCOPE_BYTES);
    }

    /** A write's work, given the change that {@link #touchScope} marks its scopes in. */
    private interface Write<T> {
        T run(Handle handle, ReadCache.Changing change) throws SQLException;
    }

    /** Runs {@code work} in one transaction; the scopes it touched are dropped from the cache once it is over. */
    private <T> T writing(Write<T> work) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> work.run(handle, change));
        }
    }

    public Memory create(long appId, long userId, Memory.Draft draft) {
        return writing((handle, change) -> {
            checkReferences(handle, appId, userId, draft.characterId());
            checkConversation(handle, appId, userId, draft.conversationId(), "conversation_id");
            ScopeHeld held = touchScope(handle, change, appId, userId, draft.characterId(), draft.embedding(), "embedding");
            checkRoom(held, draft.embedding() == null ? 0 : 1, "", userId, draft.characterId());
            return insert(handle, appId, userId, draft);
        });
    }

    /**
     * Stores an imported memory unless the app has one with its external id already (an import run again):
     * true when it was stored. Checked as {@link #create} checks a memory.
     */
    public boolean importOne(long appId, long userId, String externalId, Memory.Draft draft) {
        return writing((handle, change) -> {
            if (handle.first(EXISTS_IMPORTED, row -> true, appId, externalId).isPresent()) {
                return false;
            }
            checkReferences(handle, appId, userId, draft.characterId());
            checkConversation(handle, appId, userId, draft.conversationId(), "conversation_id");
            ScopeHeld held = touchScope(handle, change, appId, userId, draft.characterId(), draft.embedding(), "embedding");
            checkRoom(held, draft.embedding() == null ? 0 : 1, "", userId, draft.characterId());
            return handle.first(INSERT_IMPORTED, row -> true, appId, userId, draft.characterId(), draft.conversationId(),
                    draft.content(), (float) draft.importance(), draft.language(), json(draft.metadata()),
                    bytes(draft.embedding()), draft.createdAt(), externalId).isPresent();
        });
    }

    /**
     * Stores every draft in one transaction, or none: the first draft that cannot be stored fails the
     * batch with an {@link InvalidInput} naming it ({@code memories[i].field}).
     */
    public List<Memory> createAll(long appId, long userId, List<Memory.Draft> drafts) {
        return writing((handle, change) -> {
            if (handle.first(USER_EXISTS, row -> true, appId, userId).isEmpty()) {
                throw new NotFound("user", userId);
            }
            checkBatchReferences(handle, appId, userId, drafts);
            Map<Long, ScopeHeld> scopes = touchScopes(handle, change, appId, userId, drafts);
            Map<Long, Integer> adding = new HashMap<>(); // character -> embeddings this batch adds to its scope so far
            List<Memory> stored = new ArrayList<>(drafts.size());
            for (int i = 0; i < drafts.size(); i++) {
                Memory.Draft draft = drafts.get(i);
                ScopeHeld held = scopes.get(draft.characterId());
                if (draft.embedding() != null) {
                    if (held.dims() != null && draft.embedding().length != held.dims()) {
                        throw mismatch(BATCH_FIELD.formatted(i) + "embedding", draft.embedding().length, userId,
                                draft.characterId(), held.dims());
                    }
                    checkRoom(held, adding.merge(draft.characterId(), 1, Integer::sum), BATCH_FIELD.formatted(i), userId,
                            draft.characterId());
                }
                stored.add(insert(handle, appId, userId, draft));
            }
            return stored;
        });
    }

    /** The field prefix of batch item i. */
    static final String BATCH_FIELD = "memories[%d].";

    /**
     * Moves the version of each scope the batch writes to, once, with the first embedding sent for it (so
     * a new scope takes its length); returns what each scope holds. The scopes are locked in order of character, as
     * every writer of several scopes locks them (Erasure too): two batches naming two characters in opposite orders
     * deadlocked, and one of them was a 500.
     */
    private static Map<Long, ScopeHeld> touchScopes(Handle handle, ReadCache.Changing change, long appId, long userId,
                                                  List<Memory.Draft> drafts) throws SQLException {
        Map<Long, Integer> firstEmbedded = new TreeMap<>(); // character -> index of its first draft with an embedding
        for (int i = 0; i < drafts.size(); i++) {
            Memory.Draft draft = drafts.get(i);
            Integer first = firstEmbedded.get(draft.characterId());
            if (first == null || (drafts.get(first).embedding() == null && draft.embedding() != null)) {
                firstEmbedded.put(draft.characterId(), i);
            }
        }
        Map<Long, ScopeHeld> scopes = new HashMap<>();
        for (var entry : firstEmbedded.entrySet()) {
            Memory.Draft draft = drafts.get(entry.getValue());
            scopes.put(entry.getKey(), touchScope(handle, change, appId, userId, entry.getKey(), draft.embedding(),
                    BATCH_FIELD.formatted(entry.getValue()) + "embedding"));
        }
        return scopes;
    }

    /** Each character and conversation a batch names, looked up once; the first missing one fails the batch. */
    private static void checkBatchReferences(Handle handle, long appId, long userId, List<Memory.Draft> drafts) throws SQLException {
        Map<Long, Boolean> characters = new HashMap<>();
        Map<Long, Boolean> conversations = new HashMap<>();
        for (int i = 0; i < drafts.size(); i++) {
            Memory.Draft draft = drafts.get(i);
            String field = BATCH_FIELD.formatted(i);
            if (!characters.containsKey(draft.characterId())) {
                characters.put(draft.characterId(), handle.first(CHARACTER_EXISTS, row -> true, appId, draft.characterId()).isPresent());
            }
            if (!characters.get(draft.characterId())) {
                throw new InvalidInput(field + "character_id", "refers to character " + draft.characterId()
                        + ", which does not exist in this app");
            }
            Long conversationId = draft.conversationId();
            if (conversationId != null && !conversations.containsKey(conversationId)) {
                conversations.put(conversationId, userIsIn(handle, UserReach.CONVERSATION_HELD, appId, conversationId, userId));
            }
            if (conversationId != null && !conversations.get(conversationId)) {
                throw notUsersConversation(field + "conversation_id", conversationId, userId);
            }
        }
    }

    private static Memory insert(Handle handle, long appId, long userId, Memory.Draft draft) throws SQLException {
        return handle.first(INSERT, ROW, appId, userId, draft.characterId(), draft.conversationId(), draft.content(),
                (float) draft.importance(), draft.language(), json(draft.metadata()), bytes(draft.embedding()),
                draft.createdAt()).orElseThrow();
    }

    /** The user's memories after {@code afterId}, by id, at most {@code limit}: a page of an export. */
    public List<WithEmbedding> ofUser(long appId, long userId, long afterId, int limit) {
        return database.read(handle -> handle.list(OF_USER, row -> new WithEmbedding(ROW.map(row), compact(row.getString("embedding"))),
                appId, userId, afterId, limit));
    }

    /** PostgreSQL's base64 breaks lines every 76 characters; the API's has none. */
    private static String compact(String base64) {
        return base64 == null ? null : base64.replace("\n", "");
    }

    public Memory get(long appId, long memoryId) {
        return database.read(handle -> handle.first(GET, ROW, appId, memoryId)).orElseThrow(() -> new NotFound("memory", memoryId));
    }

    /** One user's memories of one character, filtered and ordered as {@code listing} says. */
    public List<Memory> list(long appId, long userId, long characterId, Listing listing) {
        Bound bound = bind(appId, userId, characterId, listing);
        return database.read(handle -> {
            List<Memory> page = handle.list(bound.query(), ROW, bound.args());
            if (page.isEmpty()) {
                requireScope(handle, appId, userId, characterId);
            }
            return page;
        });
    }

    /** The listing's statement: the order's, with a clause for each filter given, and its arguments. */
    static Bound bind(long appId, long userId, long characterId, Listing listing) {
        Order order = listing.order();
        List<Object> args = new ArrayList<>();
        var sql = new StringBuilder("SELECT ").append(COLUMNS);
        if (order == Order.RELEVANCE) {
            sql.append(", ts_rank_cd(memories.words, asked.words) AS rank");
        }
        if (listing.words() != null) {
            // The words are bound once, as a row the statement joins; the scope's tokens keep the match to this user.
            sql.append("\n  FROM memories, websearch_to_tsquery(?::regconfig, ?) AS asked(words)")
                    .append("\n WHERE memories.words @@ (asked.words && ?::tsquery)")
                    .append("\n   AND numnode(asked.words) > 0 AND app_id = ? AND user_id = ? AND character_id = ?");
            args.addAll(List.of(listing.language(), listing.words(),
                    MessageSearch.token("u", userId) + " & " + MessageSearch.token("h", characterId)));
        } else {
            sql.append("\n  FROM memories\n WHERE app_id = ? AND user_id = ? AND character_id = ?");
        }
        args.addAll(List.of(appId, userId, characterId));
        Filter filter = listing.filter();
        if (filter.metadata() != null) {
            sql.append("\n   AND metadata @> ?::jsonb");
            args.add(filter.metadata().toString());
        }
        // As a memory's importance is stored: a real, rounded in Java, where a value too small for it is 0 (PostgreSQL's
        // cast would refuse it); so a bound matches the memories written with that same number.
        if (filter.minImportance() != null) {
            sql.append("\n   AND importance >= ?::real");
            args.add(filter.minImportance().floatValue());
        }
        if (filter.maxImportance() != null) {
            sql.append("\n   AND importance <= ?::real");
            args.add(filter.maxImportance().floatValue());
        }
        if (listing.after() != null) {
            sql.append("\n   AND ").append(order.after);
            args.addAll(List.of(listing.after()));
        }
        sql.append("\n ORDER BY ").append(order.orderBy).append("\n LIMIT ?");
        args.add(listing.limit());
        String name = listing.words() == null || order == Order.RELEVANCE ? order.queryName : order.queryName + "_matching";
        return new Bound(new Query(name, sql.toString()), args.toArray());
    }

    /**
     * Applies {@code change} to a memory whose stored form has the ETag {@code requiredTag} (null: whatever it has);
     * one whose memory has changed since that tag was made is {@link StaleVersion}, and nothing is changed.
     */
    public Memory update(long appId, long memoryId, Memory.Change change, String requiredTag) {
        return writing((handle, changing) -> {
            Memory stored = handle.first(GET_FOR_UPDATE, ROW, appId, memoryId).orElseThrow(() -> new NotFound("memory", memoryId));
            if (requiredTag != null && !Rendered.matches(stored, requiredTag)) {
                throw new StaleVersion("memory", memoryId);
            }
            ScopeHeld held = touchScope(handle, changing, appId, stored.userId(), stored.characterId(), change.embedding(),
                    "embedding");
            // A new embedding of a memory that had one takes no more room.
            int adding = change.embedding() != null && stored.dims() == null ? 1 : 0;
            checkRoom(held, adding, "", stored.userId(), stored.characterId());
            Float importance = change.importance() == null ? null : change.importance().floatValue();
            return handle.first(UPDATE, ROW, change.content(), importance, json(change.metadata()),
                    bytes(change.embedding()), appId, memoryId).orElseThrow();
        });
    }

    /** Whose memory a delete removed: the scope whose vectors, and perhaps dimensions, change with it. */
    private record Owner(long userId, long characterId) {
    }

    /**
     * Forgets a memory; its scope's dimensions are forgotten too once no memory of it has an embedding (by the trigger
     * that counts them, V39, whichever path deletes the last one), so it takes embeddings of any size again.
     */
    public void delete(long appId, long memoryId) {
        delete(appId, memoryId, null);
    }

    /**
     * As above, only if the memory's stored form has the ETag {@code requiredTag} (a DELETE's If-Match; null: whatever
     * it has), compared with the row locked as {@link #update} does: else {@link StaleVersion}, and it stays.
     */
    public void delete(long appId, long memoryId, String requiredTag) {
        writing((handle, change) -> {
            if (requiredTag != null) {
                Memory stored = handle.first(GET_FOR_UPDATE, ROW, appId, memoryId).orElseThrow(() -> new NotFound("memory", memoryId));
                if (!Rendered.matches(stored, requiredTag)) {
                    throw new StaleVersion("memory", memoryId);
                }
            }
            Owner owner = handle.first(DELETE, row -> new Owner(row.getLong(1), row.getLong(2)), appId, memoryId)
                    .orElseThrow(() -> new NotFound("memory", memoryId));
            return touchScope(handle, change, appId, owner.userId(), owner.characterId(), null, "embedding");
        });
    }

    /**
     * A page of the memories of the user (of one character when {@code characterId} is not null) matching
     * {@code text}: best first (relevance; ties newest stored first) or latest created_at first (recent; ties
     * likewise), at most {@code limit} past {@code after}.
     */
    public List<Found> search(long appId, long userId, Long characterId, String text, String language,
                              MessageSearch.Order order, SearchAfter after, int limit) {
        return database.read(handle -> {
            String scope = MessageSearch.token("u", userId)
                    + (characterId == null ? "" : " & " + MessageSearch.token("h", characterId));
            List<Matched> matched = order == MessageSearch.Order.RECENT
                    ? handle.list(SEARCH_RECENT, MATCHED, language, text, scope, appId, userId, limit, after.createdAt(), after.memoryId())
                    : handle.list(SEARCH, MATCHED, language, text, scope, appId, userId, limit, after.rank(), after.memoryId());
            if (matched.isEmpty()) {
                requireScope(handle, appId, userId, characterId); // no hits, or no such user or character
                return List.of();
            }
            List<String> made = snippets.of(handle, matched.getFirst().words(),
                    matched.stream().map(m -> new Snippets.Text(m.memory().language(), m.memory().content())).toList());
            List<Found> found = new ArrayList<>(matched.size());
            for (int i = 0; i < matched.size(); i++) {
                found.add(new Found(matched.get(i).memory(), matched.get(i).rank(), made.get(i)));
            }
            return found;
        });
    }

    /**
     * What {@code characterId} remembers of each of {@code userIds} (people of this app: a conversation's members and
     * authors) that matches {@code text}: each person's best {@code limit}, in one statement. For a context (the
     * people are the conversation's, found already), so without a check of each and without snippets; a person with
     * no match is absent.
     */
    public Map<Long, List<Remembered>> searchEach(List<Long> userIds, long characterId, String text, String language, int limit) {
        String scope = userIds.stream().map(userId -> MessageSearch.token("u", userId)).collect(Collectors.joining(" | ", "(", ")"))
                + " & " + MessageSearch.token("h", characterId);
        List<Matched> matched = database.read(handle -> handle.list(SEARCH_EACH.bind("language", language).bind("text", text)
                .bind("scope", scope).bind("size", limit), MATCHED_ALONE));
        Map<Long, List<Remembered>> each = new HashMap<>();
        for (Matched found : matched) {
            each.computeIfAbsent(found.memory().userId(), userId -> new ArrayList<>()).add(Remembered.of(found.memory(), found.rank()));
        }
        return each;
    }

    private static final RowMapper<Matched> MATCHED_ALONE = row -> new Matched(ROW.map(row), row.getFloat("rank"), null);

    /** A memory the search statement found, with its rank and the search's words as parsed. */
    private record Matched(Memory memory, float rank, String words) {
    }

    private static final RowMapper<Matched> MATCHED = row -> new Matched(ROW.map(row), row.getFloat("rank"), row.getString("words"));

    /** What a scope holds as a write to it begins: its embeddings' length (null: none known) and how many it has. */
    private record ScopeHeld(Integer dims, int embedded) {
        static final RowMapper<ScopeHeld> ROW = row -> {
            int dims = row.getInt(1);
            Integer known = row.wasNull() ? null : dims; // asked at once: wasNull speaks of the last column read
            return new ScopeHeld(known, row.getInt(2));
        };
    }

    /**
     * Moves the scope's version, and marks the user's cached views (recall's versions among them) changing; refuses an
     * embedding whose length differs from the scope's others.
     */
    private static ScopeHeld touchScope(Handle handle, ReadCache.Changing change, long appId, long userId, long characterId,
                                        float[] embedding, String field) throws SQLException {
        change.mark(List.of(Scope.user(appId, userId)));
        Integer dims = embedding == null ? null : embedding.length;
        ScopeHeld held = handle.first(TOUCH_SCOPE, ScopeHeld.ROW, appId, userId, characterId, dims, change.origin()).orElseThrow();
        if (dims != null && held.dims() != null && !dims.equals(held.dims())) {
            throw mismatch(field, dims, userId, characterId, held.dims());
        }
        return held;
    }

    /**
     * Refuses a write that would give the scope {@code adding} more embeddings than fit in PARLEY_MEMORY_SCOPE_LIMIT:
     * recall reads a scope whole into memory, so one of any size could take the heap (and one larger than the recall
     * cache would be read again at every recall). {@code item} names a batch's item ("" for a single memory).
     */
    private void checkRoom(ScopeHeld held, int adding, String item, long userId, long characterId) {
        if (adding == 0 || held.dims() == null) {
            return;
        }
        if (!fits(held.embedded() + (long) adding, held.dims(), scopeBytes)) {
            throw scopeFull(item + "embedding", (item.isEmpty() ? "" : item + "embedding: ") + "user " + userId
                    + "'s memories of character " + characterId + " hold " + embeddings(held.embedded()) + " of " + held.dims()
                    + " dimensions, and " + adding + " more would take them past the " + sized(scopeBytes)
                    + " of embeddings one scope may hold (PARLEY_MEMORY_SCOPE_LIMIT): delete some of them, or store this "
                    + "memory without an embedding (it is then found by its words)");
        }
    }

    /** Whether {@code embeddings} of {@code dims} dimensions (null: none known) are within {@code scopeBytes}. */
    static boolean fits(long embeddings, Integer dims, long scopeBytes) {
        return dims == null || embeddings * dims * Float.BYTES <= scopeBytes;
    }

    /**
     * The problem of a scope over PARLEY_MEMORY_SCOPE_LIMIT: a 409, for a write that would fill it ({@code field}, the
     * embedding it sent) and for a recall of one past it (null).
     */
    static Conflict scopeFull(String field, String message) {
        return new Conflict("memory-scope-full", field, message);
    }

    /** "no embeddings", "1 embedding", "4 embeddings". */
    static String embeddings(int count) {
        return count == 0 ? "no embeddings" : count == 1 ? "1 embedding" : count + " embeddings";
    }

    /** A size as PARLEY_MEMORY_SCOPE_LIMIT is usually set: in MiB or KiB when it is a whole number of them. */
    static String sized(long bytes) {
        if (bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        return bytes % (1 << 10) == 0 ? (bytes >> 10) + " KiB" : bytes + " bytes";
    }

    private static InvalidInput mismatch(String field, int dims, long userId, long characterId, int scopeDims) {
        return new InvalidInput(field, "has " + dims + " dimensions, but user " + userId + "'s memories of character "
                + characterId + " have " + scopeDims + "; use the same embedding model for one scope");
    }

    /**
     * A recall's {@code conversation_id}: the user's own conversation or a group they are a member of (a 404 if no such
     * user), else 400 naming the field.
     */
    public void checkConversation(long appId, long userId, long conversationId) {
        database.read(handle -> {
            Users.require(handle, appId, userId);
            if (!userIsIn(handle, UserReach.CONVERSATION, appId, conversationId, userId)) {
                throw notUsersConversation("conversation_id", conversationId, userId);
            }
            return null;
        });
    }

    /** A written memory's conversation, held until the write commits (UserReach.CONVERSATION_HELD). */
    private static void checkConversation(Handle handle, long appId, long userId, Long conversationId, String field)
            throws SQLException {
        if (conversationId != null && !userIsIn(handle, UserReach.CONVERSATION_HELD, appId, conversationId, userId)) {
            throw notUsersConversation(field, conversationId, userId);
        }
    }

    /**
     * Whether a memory of the user may name the conversation: the user's own, or a group they joined as a guest,
     * whose memories are theirs as much as the owner's are (erasing the owner unlinks them, deleting the group
     * unlinks or deletes them with everyone's).
     */
    private static boolean userIsIn(Handle handle, NamedQuery reach, long appId, long conversationId, long userId)
            throws SQLException {
        return handle.first(reach.bind("app_id", appId).bind("conversation_id", conversationId)
                .bind("user_id", userId), row -> true).isPresent();
    }

    private static InvalidInput notUsersConversation(String field, long conversationId, long userId) {
        return new InvalidInput(field, "refers to conversation " + conversationId + ", which is neither user " + userId
                + "'s own nor a group they are a member of, in this app");
    }

    /** The user (404 when missing) and the character (400: a body names it) of a scope, held until the write commits. */
    static void checkReferences(Handle handle, long appId, long userId, long characterId) throws SQLException {
        checkReferences(handle, CHECK_REFERENCES, appId, userId, characterId);
    }

    /**
     * As {@link #checkReferences}, for a read that found nothing: an empty page of a scope that does not exist is an
     * error, as a recall of it is, not an empty answer.
     */
    static void requireScope(Handle handle, long appId, long userId, Long characterId) throws SQLException {
        if (characterId == null) {
            Users.require(handle, appId, userId);
        } else {
            checkReferences(handle, READ_REFERENCES, appId, userId, characterId);
        }
    }

    private static void checkReferences(Handle handle, NamedQuery query, long appId, long userId, long characterId)
            throws SQLException {
        References found = handle.first(query.bind("app_id", appId).bind("user_id", userId).bind("character_id", characterId),
                row -> new References(row.getBoolean("user_exists"), row.getBoolean("character_exists"))).orElseThrow();
        if (!found.userExists()) {
            throw new NotFound("user", userId);
        }
        if (!found.characterExists()) {
            throw new InvalidInput("character_id", "refers to character " + characterId + ", which does not exist in this app");
        }
    }

    private static String json(JsonNode node) {
        return node == null ? null : node.toString();
    }

    private static byte[] bytes(float[] embedding) {
        return embedding == null ? null : Embedding.encode(embedding);
    }
}
