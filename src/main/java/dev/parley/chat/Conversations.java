package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Conversations: started, read, their JSON state patched and their named counters moved atomically. */
public final class Conversations {
    static final String COLUMNS = """
            c.conversation_id, c.user_id, c.character_id, c.is_group, c.language::text AS language, c.title, c.state, c.counters,
            c.message_count, c.last_seq, c.last_message_id, c.last_message_role, c.last_message_preview,
            c.created_at, c.last_activity_at, c.updated_at, c.external_id, c.version, c.activity_id,
            ARRAY(SELECT m.member_id FROM conversation_members m
                   WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id AND m.member_kind = 'character'
                   ORDER BY m.member_id = c.character_id DESC, m.member_id) AS character_ids,
            ARRAY(SELECT m.member_id FROM conversation_members m
                   WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id AND m.member_kind = 'user'
                   ORDER BY m.member_id = c.user_id DESC, m.joined_at, m.member_id) AS user_ids""";

    static final NamedQuery CHECK_REFERENCES = NamedQuery.of("conversation.check_references", """
            SELECT EXISTS (SELECT 1 FROM users WHERE app_id = :app_id AND user_id = :user_id) AS user_exists,
                   ARRAY(SELECT character_id FROM characters WHERE app_id = :app_id AND character_id = ANY(:character_ids))
                       AS characters""");

    /** Whether a new conversation's user exists, and which of its characters do. */
    private record References(boolean userExists, Set<Long> characters) {
    }

    // A new conversation's activity id, creation and last activity are its own id.
    static final NamedQuery CREATE = NamedQuery.of("conversation.create", """
            INSERT INTO conversations (app_id, conversation_id, user_id, character_id, is_group, language, title, state,
                                       counters, external_id, activity_id, created_at, last_activity_at, updated_at)
            VALUES (:app_id, :conversation_id, :user_id, :character_id, :is_group, :language::regconfig, :title, :state::jsonb,
                    :counters::jsonb, :external_id, :conversation_id, parley_id_time(:conversation_id),
                    parley_id_time(:conversation_id), now())""");

    static final Query ADD_MEMBERS = new Query("conversation.add_members", """
            INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id)
            SELECT ?, ?, kind, id FROM unnest(?::text[], ?::bigint[]) AS t(kind, id)""");

    static final Query GET = new Query("conversation.get", """
            SELECT %s FROM conversations c WHERE c.app_id = ? AND c.conversation_id = ?""".formatted(COLUMNS));

    // The merge runs in the database (V8): the stored state is never parsed here. A null patch keeps the state.
    // The version is compared in this statement, under the row lock (see Characters.UPDATE).
    static final Query PATCH = new Query("conversation.patch", """
            WITH patch AS (SELECT ?::jsonb AS state, ?::boolean AS title_given, ?::text AS title, ?::bigint AS required_version)
            UPDATE conversations c
               SET state = coalesce(parley_merge_patch(c.state, patch.state), c.state),
                   title = CASE WHEN patch.title_given THEN patch.title ELSE c.title END,
                   updated_at = now(),
                   version = c.version + 1
              FROM patch
             WHERE c.app_id = ? AND c.conversation_id = ?
               AND (patch.required_version IS NULL OR c.version = patch.required_version)
            RETURNING octet_length(c.state::text)""");

    static final Query OF_USER = new Query("conversation.of_user", """
            SELECT %s FROM conversations c WHERE c.app_id = ? AND c.user_id = ? AND c.conversation_id > ?
             ORDER BY c.conversation_id LIMIT ?""".formatted(COLUMNS));

    // The groups a person joined or was removed from (V18): their messages there are theirs too.
    public static final NamedQuery GROUPS_OF_USER = NamedQuery.of("conversation.groups_of_user", """
            SELECT conversation_id FROM conversation_members
             WHERE app_id = :app_id AND member_kind = 'user' AND member_id = :user_id AND guest
            UNION
            SELECT conversation_id FROM conversation_former_members WHERE app_id = :app_id AND user_id = :user_id
            ORDER BY 1 LIMIT :limit""");

    static final Query VERSION = new Query("conversation.version", """
            SELECT version FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    static final RowMapper<Conversation> ROW = row -> {
        long lastMessageId = row.getLong("last_message_id");
        Conversation.LastMessage last = row.wasNull() ? null : new Conversation.LastMessage(lastMessageId,
                row.getString("last_message_role"), row.getString("last_message_preview"), Ids.timeOf(lastMessageId));
        return new Conversation(
                row.getLong("conversation_id"),
                row.getLong("user_id"),
                row.getLong("character_id"),
                Arrays.stream((Long[]) row.getArray("character_ids").getArray()).map(String::valueOf).toList(),
                Arrays.stream((Long[]) row.getArray("user_ids").getArray()).map(String::valueOf).toList(),
                row.getBoolean("is_group"),
                row.getString("language"),
                row.getString("title"),
                JsonText.stored(row.getString("state")),
                JsonText.stored(row.getString("counters")),
                row.getLong("message_count"),
                row.getLong("last_seq"),
                last,
                instant(row.getTimestamp("created_at")),
                instant(row.getTimestamp("last_activity_at")),
                instant(row.getTimestamp("updated_at")),
                row.getString("external_id"),
                row.getLong("version"));
    };

    private final Database database;
    private final Ids ids;
    private final ReadCache cache;
    private final CounterBuffer counters;

    public Conversations(Database database, Ids ids, ReadCache cache, CounterBuffer counters) {
        this.database = database;
        this.ids = ids;
        this.cache = cache;
        this.counters = counters;
    }

    public Conversation create(long appId, Conversation.Draft draft) {
        List<Long> characterIds = List.copyOf(new LinkedHashSet<>(draft.characterIds()));
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                checkReferences(handle, appId, draft.userId(), characterIds);
                long id = draft.createdAt() == null ? ids.next(handle) : ids.at(draft.createdAt(), Long.MIN_VALUE, handle);
                insert(handle, appId, id, draft, characterIds);
                List<String> kinds = new ArrayList<>(List.of("user"));
                List<Long> members = new ArrayList<>(List.of(draft.userId()));
                characterIds.forEach(c -> {
                    kinds.add("character");
                    members.add(c);
                });
                handle.execute(ADD_MEMBERS, appId, id, handle.array("text", kinds.toArray(String[]::new)),
                        handle.array("bigint", members.toArray(Long[]::new)));
                change.mark(List.of(Scope.inbox(appId, draft.userId())));
                return handle.first(GET, ROW, appId, id).orElseThrow();
            });
        }
    }

    private static void insert(Handle handle, long appId, long id, Conversation.Draft draft, List<Long> characterIds)
            throws SQLException {
        try {
            handle.execute(CREATE.bind("app_id", appId).bind("conversation_id", id).bind("user_id", draft.userId())
                    .bind("character_id", characterIds.getFirst()).bind("is_group", characterIds.size() > 1)
                    .bind("language", draft.language()).bind("title", draft.title()).bind("state", json(draft.state()))
                    .bind("counters", json(draft.counters())).bind("external_id", draft.externalId()));
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) { // only external_id is unique beyond the fresh id
                throw new Conflict("external-id-taken", "external_id '" + draft.externalId()
                        + "' already names a conversation of this app; find it with GET /v1/conversations?external_id=");
            }
            throw e;
        }
    }

    public Conversation get(long appId, long conversationId) {
        return rendered(appId, conversationId).model();
    }

    /** The conversation as a GET sends it: from the cache, or read and kept there; its counters as this instance runs them. */
    public Rendered<Conversation> rendered(long appId, long conversationId) {
        var running = counters.running(CounterBuffer.Holder.conversation(appId, conversationId)); // before the row is read
        Rendered<Conversation> stored = stored(appId, conversationId);
        return running.isEmpty() ? stored : Rendered.of(withRunning(stored.model(), running));
    }

    /** The conversation as stored: from the cache, or read and kept there. */
    private Rendered<Conversation> stored(long appId, long conversationId) {
        return cache.get(Scope.conversation(appId, conversationId), "conversation", Conversation.class,
                () -> database.read(handle -> get(handle, appId, conversationId)));
    }

    private static Conversation withRunning(Conversation conversation, CounterBuffer.Running running) {
        return running.isEmpty() ? conversation : conversation.withCounters(running.over(conversation.counters()));
    }

    /**
     * The user's own conversations after {@code afterId}, by id, at most {@code limit}, with their counters as this
     * instance runs them (as a GET shows them): a page of an export.
     */
    public List<Conversation> ofUser(long appId, long userId, long afterId, int limit) {
        List<Conversation> page = database.read(handle -> handle.list(OF_USER, ROW, appId, userId, afterId, limit));
        return page.stream()
                .map(conversation -> withRunning(conversation, counters.running(CounterBuffer.Holder.conversation(appId, conversation.id()))))
                .toList();
    }

    /** The ids of the groups of others the user is in, or was removed from. */
    public List<Long> groupsOf(long appId, long userId) {
        return database.read(handle -> handle.list(GROUPS_OF_USER.bind("app_id", appId).bind("user_id", userId)
                .bind("limit", Integer.MAX_VALUE), row -> row.getLong(1)));
    }

    static final RowMapper<Conversation.Listed> LISTED = row -> new Conversation.Listed(ROW.map(row), row.getLong("activity_id"));

    static Conversation get(Handle handle, long appId, long conversationId) throws SQLException {
        return handle.first(GET, ROW, appId, conversationId).orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    /**
     * A page of the app's conversations that pass {@code filter}, by last activity, newest first, after
     * {@code after} (the last of the previous page).
     */
    public List<Conversation.Listed> list(long appId, ConversationFilter filter, ConversationFilter.Position after, int limit) {
        ConversationFilter.Statement statement = filter.statement(appId, after, limit);
        List<Conversation.Listed> page = database.read(handle -> handle.list(statement.query(), LISTED, statement.arguments()));
        // The page's ids are known only now, so its running counters are taken after the rows, not before.
        return page.stream()
                .map(listed -> listed.with(withRunning(listed.conversation(),
                        counters.running(CounterBuffer.Holder.conversation(appId, listed.conversation().id())))))
                .toList();
    }

    /**
     * Applies a JSON merge patch to the state and, when {@code titleGiven}, sets the title (null clears it),
     * when the conversation is at {@code requiredVersion} (null: whatever its version). A patched state larger than {@code maxStateBytes} (as stored) is refused and nothing changes.
     */
    public Conversation patch(long appId, long conversationId, JsonNode statePatch, boolean titleGiven, String title,
                              Long requiredVersion, int maxStateBytes) {
        var running = counters.running(CounterBuffer.Holder.conversation(appId, conversationId)); // before the row is read
        try (ReadCache.Changing change = cache.changing()) {
            Conversation patched = database.inTransaction(handle -> {
                var patchedBytes = handle.first(PATCH, row -> row.getLong(1), statePatch == null ? null : statePatch.toString(),
                        titleGiven, title, requiredVersion, appId, conversationId);
                if (patchedBytes.isEmpty()) {
                    throw handle.first(VERSION, row -> row.getLong(1), appId, conversationId)
                            .<RuntimeException>map(current -> new StaleVersion("conversation", conversationId, requiredVersion, current))
                            .orElseGet(() -> new NotFound("conversation", conversationId));
                }
                long stateBytes = patchedBytes.get();
                if (stateBytes > maxStateBytes) {
                    throw new InvalidInput("state", "would be " + stateBytes + " bytes of JSON once patched; the limit is "
                            + maxStateBytes);
                }
                Conversation got = get(handle, appId, conversationId);
                change.mark(ReadCache.conversationScopes(appId, conversationId, got.userId(), got.guestIds()));
                return got;
            });
            return withRunning(patched, running);
        }
    }

    /**
     * Adds each delta to its named counter (a missing counter starts at 0) and returns all counters: in
     * memory, written within the flush window ({@link CounterBuffer}), or at once when {@code durable}.
     */
    public JsonText incrementCounters(long appId, long conversationId, Map<String, Long> deltas, boolean durable) {
        return counters.increment(CounterBuffer.Holder.conversation(appId, conversationId), deltas, durable,
                () -> stored(appId, conversationId).model().counters());
    }

    private static void checkReferences(Handle handle, long appId, long userId, List<Long> characterIds) throws SQLException {
        References found = handle.first(CHECK_REFERENCES.bind("app_id", appId).bind("user_id", userId)
                        .bind("character_ids", handle.array("bigint", characterIds.toArray(Long[]::new))),
                row -> new References(row.getBoolean("user_exists"), Set.of((Long[]) row.getArray("characters").getArray())))
                .orElseThrow();
        if (!found.userExists()) {
            throw new InvalidInput("user_id", "refers to user " + userId + ", which does not exist in this app");
        }
        for (int i = 0; i < characterIds.size(); i++) {
            long characterId = characterIds.get(i);
            if (!found.characters().contains(characterId)) {
                // A direct chat names its one character as character_id, a group each as character_ids[i].
                String field = characterIds.size() == 1 ? "character_id" : "character_ids[" + i + "]";
                throw new InvalidInput(field, "refers to character " + characterId + ", which does not exist in this app");
            }
        }
    }

    private static String json(JsonNode node) {
        return node == null ? "{}" : node.toString();
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp.toInstant();
    }
}
