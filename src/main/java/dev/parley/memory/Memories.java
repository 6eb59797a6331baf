package dev.parley.memory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.NotFound;
import dev.parley.chat.Users;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import dev.parley.search.MessageSearch;
import java.sql.SQLException;
import java.util.List;

/**
 * Memories: stored, read, changed and forgotten. Every write moves its scope's version in the same
 * transaction, which is how {@link Recall} caches on any instance learn that their vectors are stale.
 */
public final class Memories {
    static final String COLUMNS = """
            memory_id, user_id, character_id, content, importance, language::text AS language, metadata,
            octet_length(embedding) / 4 AS dims, created_at, updated_at""";

    static final Query CHECK_REFERENCES = new Query("memory.check_references", """
            SELECT EXISTS (SELECT 1 FROM users WHERE app_id = ? AND user_id = ?),
                   EXISTS (SELECT 1 FROM characters WHERE app_id = ? AND character_id = ?)""");

    // Takes the scope's row lock, so writes to one scope queue up and the dims check cannot race.
    static final Query TOUCH_SCOPE = new Query("memory.touch_scope", """
            INSERT INTO memory_scopes AS s (app_id, user_id, character_id, dims)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (app_id, user_id, character_id) DO UPDATE
               SET version = s.version + 1, dims = coalesce(s.dims, excluded.dims)
            RETURNING dims""");

    static final Query INSERT = new Query("memory.insert", """
            INSERT INTO memories (app_id, user_id, character_id, content, importance, language, metadata, embedding)
            VALUES (?, ?, ?, ?, ?, ?::regconfig, ?::jsonb, ?)
            RETURNING %s""".formatted(COLUMNS));

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

    static final Query LIST = new Query("memory.list", """
            SELECT %s FROM memories
             WHERE app_id = ? AND user_id = ? AND character_id = ? AND memory_id < ?
             ORDER BY memory_id DESC
             LIMIT ?""".formatted(COLUMNS));

    // Words in one user's memories (of one character when the scope says so), best first. The scope
    // is the tsquery's tokens ('~u:7 & ~h:3'), checked against this app before; no column filter, so
    // a generic plan has no index but the words' (see MessageSearch.MATCHES).
    static final Query SEARCH = new Query("search.memories", """
            SELECT hit.*, ts_headline(hit.language::regconfig, hit.content, websearch_to_tsquery(?::regconfig, ?), '%s') AS snippet
              FROM (SELECT %s, ts_rank_cd(to_tsvector(language, content), websearch_to_tsquery(?::regconfig, ?)) AS rank
                      FROM memories
                     WHERE parley_memory_words(language, content, user_id, character_id)
                           @@ (websearch_to_tsquery(?::regconfig, ?) && ?::tsquery)
                       AND numnode(websearch_to_tsquery(?::regconfig, ?)) > 0
                     ORDER BY rank DESC, memory_id DESC
                     LIMIT ?) hit
             ORDER BY hit.rank DESC, hit.memory_id DESC""".formatted(MessageSearch.HEADLINE, COLUMNS));

    /** A memory whose words match a search, with its rank and a highlighted snippet. */
    public record Found(Memory memory, float rank, String snippet) {
        /** This memory as the next LLM call's context lists it, with its rank as relevance. */
        public Remembered remembered() {
            return new Remembered(memory.id(), memory.content(), rank);
        }
    }

    static final RowMapper<Memory> ROW = row -> {
        int dims = row.getInt("dims");
        Integer knownDims = row.wasNull() ? null : dims;
        return new Memory(row.getLong("memory_id"), row.getLong("user_id"), row.getLong("character_id"),
                row.getString("content"), row.getFloat("importance"), row.getString("language"),
                JsonText.stored(row.getString("metadata")), knownDims,
                row.getTimestamp("created_at").toInstant(), row.getTimestamp("updated_at").toInstant());
    };

    private final Database database;

    public Memories(Database database) {
        this.database = database;
    }

    public Memory create(long appId, long userId, Memory.Draft draft) {
        return database.inTransaction(h -> {
            checkReferences(h, appId, userId, draft.characterId());
            touchScope(h, appId, userId, draft.characterId(), draft.embedding());
            return h.first(INSERT, ROW, appId, userId, draft.characterId(), draft.content(), (float) draft.importance(),
                    draft.language(), json(draft.metadata()), bytes(draft.embedding())).orElseThrow();
        });
    }

    public Memory get(long appId, long memoryId) {
        return database.read(h -> h.first(GET, ROW, appId, memoryId)).orElseThrow(() -> new NotFound("memory", memoryId));
    }

    /** One user's memories of one character, newest first; {@code beforeId} is the keyset cursor. */
    public List<Memory> list(long appId, long userId, long characterId, long beforeId, int limit) {
        return database.read(h -> {
            List<Memory> page = h.list(LIST, ROW, appId, userId, characterId, beforeId, limit);
            if (page.isEmpty()) {
                Users.require(h, appId, userId);
            }
            return page;
        });
    }

    public Memory update(long appId, long memoryId, Memory.Change change) {
        return database.inTransaction(h -> {
            Memory stored = h.first(GET_FOR_UPDATE, ROW, appId, memoryId).orElseThrow(() -> new NotFound("memory", memoryId));
            touchScope(h, appId, stored.userId(), stored.characterId(), change.embedding());
            Float importance = change.importance() == null ? null : change.importance().floatValue();
            return h.first(UPDATE, ROW, change.content(), importance, json(change.metadata()),
                    bytes(change.embedding()), appId, memoryId).orElseThrow();
        });
    }

    public void delete(long appId, long memoryId) {
        database.inTransaction(h -> {
            long[] scope = h.first(DELETE, row -> new long[] {row.getLong(1), row.getLong(2)}, appId, memoryId)
                    .orElseThrow(() -> new NotFound("memory", memoryId));
            return touchScope(h, appId, scope[0], scope[1], null);
        });
    }

    /** Memories of the user (of one character when {@code characterId} is not null) matching {@code text}, best first. */
    public List<Found> search(long appId, long userId, Long characterId, String text, String language, int limit) {
        return database.read(h -> {
            Users.require(h, appId, userId);
            RowMapper<Found> found = row -> new Found(ROW.map(row), row.getFloat("rank"), row.getString("snippet"));
            String scope = MessageSearch.token("u", userId)
                    + (characterId == null ? "" : " & " + MessageSearch.token("h", characterId));
            return h.list(SEARCH, found, language, text, language, text, language, text, scope, language, text, limit);
        });
    }

    /** Moves the scope's version; refuses an embedding whose length differs from the scope's others. */
    private static Integer touchScope(Handle h, long appId, long userId, long characterId, float[] embedding)
            throws SQLException {
        Integer dims = embedding == null ? null : embedding.length;
        Integer scopeDims = h.first(TOUCH_SCOPE, row -> {
            int value = row.getInt(1);
            return row.wasNull() ? null : value;
        }, appId, userId, characterId, dims).orElse(null);
        if (dims != null && scopeDims != null && !dims.equals(scopeDims)) {
            throw new InvalidInput("embedding", "has " + dims + " dimensions, but user " + userId + "'s memories of character "
                    + characterId + " have " + scopeDims + "; use the same embedding model for one scope");
        }
        return scopeDims;
    }

    private static void checkReferences(Handle h, long appId, long userId, long characterId) throws SQLException {
        boolean[] found = h.first(CHECK_REFERENCES, row -> new boolean[] {row.getBoolean(1), row.getBoolean(2)},
                appId, userId, appId, characterId).orElseThrow();
        if (!found[0]) {
            throw new NotFound("user", userId);
        }
        if (!found[1]) {
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
