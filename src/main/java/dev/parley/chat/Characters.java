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
import java.sql.SQLException;
import java.util.List;

/** Characters of an app: created, read on every chat turn, updated, and browsed by trait. */
public final class Characters {
    private static final String COLUMNS = """
            character_id, name, system_prompt, traits, metadata, suggested_messages, created_at, updated_at""";

    static final Query CREATE = new Query("character.create", """
            INSERT INTO characters (app_id, name, system_prompt, traits, metadata, suggested_messages)
            VALUES (?, ?, ?, ?::jsonb, ?::jsonb, ?)
            RETURNING %s""".formatted(COLUMNS));

    static final Query GET = new Query("character.get", """
            SELECT %s FROM characters WHERE app_id = ? AND character_id = ?""".formatted(COLUMNS));

    static final Query UPDATE = new Query("character.update", """
            UPDATE characters
               SET name = coalesce(?, name),
                   system_prompt = coalesce(?, system_prompt),
                   traits = coalesce(?::jsonb, traits),
                   metadata = coalesce(?::jsonb, metadata),
                   suggested_messages = coalesce(?, suggested_messages),
                   updated_at = now()
             WHERE app_id = ? AND character_id = ?
            RETURNING %s""".formatted(COLUMNS));

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
            row.getString("name"),
            row.getString("system_prompt"),
            JsonText.stored(row.getString("traits")),
            JsonText.stored(row.getString("metadata")),
            List.of((String[]) row.getArray("suggested_messages").getArray()),
            row.getTimestamp("created_at").toInstant(),
            row.getTimestamp("updated_at").toInstant());

    private final Database database;
    private final ReadCache cache;

    public Characters(Database database, ReadCache cache) {
        this.database = database;
        this.cache = cache;
    }

    public CharacterProfile create(long appId, CharacterProfile.Draft draft) {
        return database.read(h -> h.first(CREATE, ROW, appId, draft.name(),
                draft.systemPrompt() == null ? "" : draft.systemPrompt(),
                jsonOr(draft.traits(), "{}"), jsonOr(draft.metadata(), "{}"),
                textArray(h, draft.suggestedMessages() == null ? List.of() : draft.suggestedMessages())).orElseThrow());
    }

    public CharacterProfile get(long appId, long characterId) {
        return rendered(appId, characterId).model();
    }

    /** The character as a GET sends it: from the cache, or read and kept there. */
    public Rendered<CharacterProfile> rendered(long appId, long characterId) {
        return cache.get(Scope.character(appId, characterId), "character", CharacterProfile.class,
                () -> database.read(h -> h.first(GET, ROW, appId, characterId)).orElseThrow(() -> new NotFound("character", characterId)));
    }

    public CharacterProfile update(long appId, long characterId, CharacterProfile.Draft draft) {
        CharacterProfile updated = database.read(h -> h.first(UPDATE, ROW, draft.name(), draft.systemPrompt(),
                        jsonOr(draft.traits(), null), jsonOr(draft.metadata(), null),
                        draft.suggestedMessages() == null ? null : textArray(h, draft.suggestedMessages()),
                        appId, characterId))
                .orElseThrow(() -> new NotFound("character", characterId));
        cache.characterChanged(appId, characterId);
        return updated;
    }

    /** A page of characters after {@code afterId}, optionally only those whose traits/metadata contain the given JSON. */
    public List<CharacterProfile> list(long appId, long afterId, JsonNode traits, JsonNode metadata, int limit) {
        return database.read(h -> {
            if (traits != null && metadata != null) {
                return h.list(LIST_BY_TRAITS_AND_METADATA, ROW, appId, afterId, traits.toString(), metadata.toString(), limit);
            } else if (traits != null) {
                return h.list(LIST_BY_TRAITS, ROW, appId, afterId, traits.toString(), limit);
            } else if (metadata != null) {
                return h.list(LIST_BY_METADATA, ROW, appId, afterId, metadata.toString(), limit);
            }
            return h.list(LIST, ROW, appId, afterId, limit);
        });
    }

    private static String jsonOr(JsonNode node, String fallback) {
        return node == null ? fallback : node.toString();
    }

    private static Array textArray(Handle handle, List<String> values) throws SQLException {
        return handle.array("text", values.toArray(String[]::new));
    }
}
