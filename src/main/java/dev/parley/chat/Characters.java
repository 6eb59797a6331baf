package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/** Characters of an app: created, read on every chat turn, updated, and browsed by trait. */
public final class Characters {
    private static final String COLUMNS = """
            character_id, external_id, name, system_prompt, traits, metadata, suggested_messages, created_at, updated_at, version""";

    static final Query CREATE = new Query("character.create", """
            INSERT INTO characters (app_id, name, system_prompt, traits, metadata, suggested_messages)
            VALUES (?, ?, ?, ?::jsonb, ?::jsonb, ?)
            RETURNING %s""".formatted(COLUMNS));

    static final Query GET = new Query("character.get", """
            SELECT %s FROM characters WHERE app_id = ? AND character_id = ?""".formatted(COLUMNS));

    // traits and metadata are merged in the database (V8's parley_merge_patch), as a conversation's state is.
    // The version is compared in this statement: a concurrent update holds the row lock, and this one then
    // re-reads the row it waited for and compares against that (READ COMMITTED re-check), so one of two
    // writers holding the same version is refused.
    static final Query UPDATE = new Query("character.update", """
            WITH given AS (SELECT ?::text AS name, ?::text AS system_prompt, ?::jsonb AS traits, ?::jsonb AS metadata,
                                  ?::text[] AS suggested_messages, ?::bigint AS required_version)
            UPDATE characters c
               SET name = coalesce(given.name, c.name),
                   system_prompt = coalesce(given.system_prompt, c.system_prompt),
                   traits = coalesce(parley_merge_patch(c.traits, given.traits), c.traits),
                   metadata = coalesce(parley_merge_patch(c.metadata, given.metadata), c.metadata),
                   suggested_messages = coalesce(given.suggested_messages, c.suggested_messages),
                   updated_at = now(),
                   version = c.version + 1
              FROM given
             WHERE c.app_id = ? AND c.character_id = ?
               AND (given.required_version IS NULL OR c.version = given.required_version)
            RETURNING %s, octet_length(c.traits::text) AS traits_bytes, octet_length(c.metadata::text) AS metadata_bytes"""
            .formatted(COLUMNS.replaceAll("(\\w+)", "c.$1"))); // each column of the row updated, not of "given"

    static final Query FIND_BY_EXTERNAL_ID = new Query("character.find_by_external_id", """
            SELECT %s FROM characters WHERE app_id = ? AND external_id = ?""".formatted(COLUMNS));

    static final Query VERSION = new Query("character.version", """
            SELECT version FROM characters WHERE app_id = ? AND character_id = ?""");

    static final Query LIST_BY_IDS = new Query("character.list_by_ids", """
            SELECT %s FROM characters
             WHERE app_id = ? AND character_id = ANY(?::bigint[])
             ORDER BY character_id""".formatted(COLUMNS));

    // Containment filters are added only when asked for: "traits @> '{}'" matches everything yet
    // makes a jsonb_path_ops GIN index read all of its entries.
    static final Query LIST = list("character.list", "");
    static final Query LIST_BY_TRAITS = list("character.list_by_traits", "AND traits @> ?::jsonb");
    static final Query LIST_BY_METADATA = list("character.list_by_metadata", "AND metadata @> ?::jsonb");
    static final Query LIST_BY_TRAITS_AND_METADATA = list("character.list_by_traits_and_metadata",
            "AND traits @> ?::jsonb AND metadata @> ?::jsonb");

    private static Query list(String name, String filter) {
        return new Query(name, """
                SELECT %s FROM characters
                 WHERE app_id = ? AND character_id > ? %s
                 ORDER BY character_id
                 LIMIT ?""".formatted(COLUMNS, filter));
    }

    static final RowMapper<CharacterProfile> ROW = row -> new CharacterProfile(
            row.getLong("character_id"),
            row.getString("external_id"),
            row.getString("name"),
            row.getString("system_prompt"),
            JsonText.stored(row.getString("traits")),
            JsonText.stored(row.getString("metadata")),
            List.of((String[]) row.getArray("suggested_messages").getArray()),
            row.getTimestamp("created_at").toInstant(),
            row.getTimestamp("updated_at").toInstant(),
            row.getLong("version"));

    private final Database database;
    private final ReadCache cache;

    public Characters(Database database, ReadCache cache) {
        this.database = database;
        this.cache = cache;
    }

    public CharacterProfile create(long appId, CharacterProfile.Draft draft) {
        return database.read(handle -> handle.first(CREATE, ROW, appId, draft.name(),
                draft.systemPrompt() == null ? "" : draft.systemPrompt(),
                jsonOr(draft.traits(), "{}"), jsonOr(draft.metadata(), "{}"),
                textArray(handle, draft.suggestedMessages() == null ? List.of() : draft.suggestedMessages())).orElseThrow());
    }

    public CharacterProfile get(long appId, long characterId) {
        return rendered(appId, characterId).model();
    }

    /** The character as a GET sends it: from the cache, or read and kept there. */
    public Rendered<CharacterProfile> rendered(long appId, long characterId) {
        return cache.get(Scope.character(appId, characterId), "character", CharacterProfile.class,
                () -> database.read(handle -> handle.first(GET, ROW, appId, characterId))
                        .orElseThrow(() -> new NotFound("character", characterId)));
    }

    /**
     * Sets the draft's given fields, merging traits and metadata (RFC 7396), when the character is at
     * {@code requiredVersion} (null: whatever its version). A merged document over {@code maxDocumentBytes}
     * as stored is refused and nothing changes.
     */
    public CharacterProfile update(long appId, long characterId, CharacterProfile.Draft draft, Long requiredVersion,
                                   int maxDocumentBytes) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                var row = handle.first(UPDATE, Updated::of, draft.name(), draft.systemPrompt(),
                        jsonOr(draft.traits(), null), jsonOr(draft.metadata(), null),
                        draft.suggestedMessages() == null ? null : textArray(handle, draft.suggestedMessages()),
                        requiredVersion, appId, characterId);
                if (row.isEmpty()) {
                    throw whyNotUpdated(handle, appId, characterId, requiredVersion);
                }
                row.get().check(maxDocumentBytes);
                change.markCharacter(appId, characterId);
                return row.get().character();
            });
        }
    }

    /** An updated row and the stored size of its merged documents, checked before the transaction commits. */
    private record Updated(CharacterProfile character, long traitsBytes, long metadataBytes) {
        static Updated of(ResultSet row) throws SQLException {
            return new Updated(ROW.map(row), row.getLong("traits_bytes"), row.getLong("metadata_bytes"));
        }

        void check(int maxBytes) {
            if (traitsBytes > maxBytes) {
                throw new InvalidInput("traits", "would be " + traitsBytes + " bytes of JSON once merged; the limit is " + maxBytes);
            }
            if (metadataBytes > maxBytes) {
                throw new InvalidInput("metadata", "would be " + metadataBytes + " bytes of JSON once merged; the limit is "
                        + maxBytes);
            }
        }
    }

    private static RuntimeException whyNotUpdated(Handle handle, long appId, long characterId, Long requiredVersion)
            throws SQLException {
        return handle.first(VERSION, row -> row.getLong(1), appId, characterId)
                .<RuntimeException>map(current -> new StaleVersion("character", characterId, requiredVersion, current))
                .orElseGet(() -> new NotFound("character", characterId));
    }

    /** The characters of {@code ids} this app has, by id; the others are simply absent. */
    public List<CharacterProfile> byIds(long appId, List<Long> ids) {
        return database.read(handle -> handle.list(LIST_BY_IDS, ROW, appId, handle.array("bigint", ids.toArray(Long[]::new))));
    }

    /** A page of characters after {@code afterId}, optionally only those whose traits/metadata contain the given JSON. */
    /** The character an import gave {@code externalId}, if the app has one. */
    public Optional<CharacterProfile> byExternalId(long appId, String externalId) {
        return database.read(handle -> handle.first(FIND_BY_EXTERNAL_ID, ROW, appId, externalId));
    }

    public List<CharacterProfile> list(long appId, long afterId, JsonNode traits, JsonNode metadata, int limit) {
        return database.read(handle -> {
            if (traits != null && metadata != null) {
                return handle.list(LIST_BY_TRAITS_AND_METADATA, ROW, appId, afterId, traits.toString(), metadata.toString(), limit);
            } else if (traits != null) {
                return handle.list(LIST_BY_TRAITS, ROW, appId, afterId, traits.toString(), limit);
            } else if (metadata != null) {
                return handle.list(LIST_BY_METADATA, ROW, appId, afterId, metadata.toString(), limit);
            }
            return handle.list(LIST, ROW, appId, afterId, limit);
        });
    }

    private static String jsonOr(JsonNode node, String fallback) {
        return node == null ? fallback : node.toString();
    }

    private static Array textArray(Handle handle, List<String> values) throws SQLException {
        return handle.array("text", values.toArray(String[]::new));
    }
}
