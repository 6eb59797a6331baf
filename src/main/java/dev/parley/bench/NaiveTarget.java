package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "naive": the same operations written the way the seeds' "before" sections describe them, on the
 * same data: OFFSET pagination with a COUNT(*) for the page count, ORDER BY created_at with no id
 * bound (so every partition is searched), an N+1 inbox that asks each conversation for its last
 * message and counts its unread rows, JSON filtered with ->> (no index can serve it), the character
 * and user read again on every turn (no cache), one transaction per appended message, search as
 * {@code ILIKE '%word%'} over the user's conversations, and memories recalled by reading every
 * embedding of the scope from the database and comparing them one by one, every time (no cache).
 * A character's messages in the last hour are counted by created_at, which no index holds, in every
 * partition; a history by metadata filters with ->> and pages with OFFSET and a COUNT(*).
 */
final class NaiveTarget implements Target {
    static final Query CONVERSATIONS_OF_USER = new Query("naive.conversations_of_user", """
            SELECT c.conversation_id, coalesce(m.read_seq, 0) FROM conversations c
              LEFT JOIN conversation_members m ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.member_kind = 'user' AND m.member_id = c.user_id
             WHERE c.app_id = ? AND c.user_id = ? ORDER BY c.updated_at DESC LIMIT 20 OFFSET 0""");
    static final Query LAST_MESSAGE = new Query("naive.last_message", """
            SELECT content, role, created_at FROM messages WHERE app_id = ? AND conversation_id = ?
             ORDER BY created_at DESC LIMIT 1""");
    static final Query UNREAD = new Query("naive.count_unread", """
            SELECT count(*) FROM messages WHERE app_id = ? AND conversation_id = ? AND seq > ?""");
    static final Query COUNT = new Query("naive.count_messages", """
            SELECT count(*) FROM messages WHERE app_id = ? AND conversation_id = ?""");
    static final Query PAGE = new Query("naive.history_offset", """
            SELECT message_id, seq, role, content, metadata, created_at FROM messages
             WHERE app_id = ? AND conversation_id = ? ORDER BY created_at DESC LIMIT ? OFFSET ?""");
    static final Query CONVERSATION = new Query("naive.conversation", """
            SELECT user_id, character_id, state FROM conversations WHERE app_id = ? AND conversation_id = ?""");
    static final Query CHARACTER = new Query("naive.character", """
            SELECT name, system_prompt, traits FROM characters WHERE app_id = ? AND character_id = ?""");
    static final Query USER = new Query("naive.user", "SELECT external_id, profile FROM users WHERE app_id = ? AND user_id = ?");
    static final Query BUMP = new Query("naive.bump_sequence", """
            UPDATE conversations SET last_seq = last_seq + 1, message_count = message_count + 1, updated_at = now()
             WHERE app_id = ? AND conversation_id = ?
            RETURNING last_seq, user_id, coalesce(last_message_id, conversation_id)""");
    static final NamedQuery POINT = NamedQuery.of("naive.point_to_last_message", """
            UPDATE conversations SET last_message_id = :message_id, activity_id = :message_id
             WHERE app_id = :app_id AND conversation_id = :conversation_id""");
    // The conversation's user writes the message.
    static final NamedQuery INSERT = NamedQuery.of("naive.insert_message", """
            INSERT INTO messages (app_id, conversation_id, message_id, seq, user_id, author_user_id, created_at, role, content)
            VALUES (:app_id, :conversation_id, :message_id, :seq, :user_id, :user_id, parley_id_time(:message_id), 'user', :content)""");
    static final NamedQuery MARK = NamedQuery.of("naive.mark_read", """
            UPDATE conversation_members SET read_seq = (SELECT seq FROM messages WHERE app_id = :app_id AND message_id = :message_id)
             WHERE app_id = :app_id AND conversation_id = :conversation_id AND member_kind = 'user' RETURNING read_seq""");
    static final Query CHARACTERS_BY_ENERGY = new Query("naive.characters_by_energy", """
            SELECT character_id, name, traits FROM characters WHERE app_id = ? AND traits ->> 'energy' = ?
             ORDER BY character_id LIMIT 20 OFFSET 0""");
    static final Query COUNT_CHARACTERS = new Query("naive.count_characters_by_energy", """
            SELECT count(*) FROM characters WHERE app_id = ? AND traits ->> 'energy' = ?""");

    static final Query CHARACTER_HOUR = new Query("naive.character_last_hour", """
            SELECT count(*) FROM messages WHERE app_id = ? AND author_character_id = ? AND created_at > now() - interval '1 hour'""");
    static final Query COUNT_BY_MODEL = new Query("naive.count_messages_by_model", """
            SELECT count(*) FROM messages WHERE app_id = ? AND conversation_id = ? AND metadata ->> 'model' = ?""");
    static final Query PAGE_BY_MODEL = new Query("naive.history_by_model_offset", """
            SELECT message_id, seq, role, content, metadata, created_at FROM messages
             WHERE app_id = ? AND conversation_id = ? AND metadata ->> 'model' = ? ORDER BY created_at DESC LIMIT ? OFFSET ?""");

    static final Query SEARCH = new Query("naive.search_like", """
            SELECT m.message_id, m.content FROM messages m
              JOIN conversations c ON c.app_id = m.app_id AND c.conversation_id = m.conversation_id
             WHERE c.app_id = ? AND c.user_id = ? AND m.content ILIKE ?
             ORDER BY m.created_at DESC LIMIT 20""");
    static final Query SEARCH_MEMORIES = new Query("naive.search_memories_like", """
            SELECT memory_id, content FROM memories
             WHERE app_id = ? AND user_id = ? AND content ILIKE ?
             ORDER BY created_at DESC LIMIT 10""");
    static final Query SCOPE = new Query("naive.memories_of_scope", """
            SELECT memory_id, content, embedding FROM memories
             WHERE app_id = ? AND user_id = ? AND character_id = ? AND embedding IS NOT NULL""");

    private record Memory(long id, String content, double similarity) {
    }

    private final Database database;
    private final long appId;
    private final int dims;
    private final Ids ids = new Ids(Clock.systemUTC());
    private final AtomicLong sent = new AtomicLong();

    /** {@code dims}: the dataset's embedding length, 0 when it has no memories (context then skips them). */
    NaiveTarget(Database database, long appId, int dims) {
        this.database = database;
        this.appId = appId;
        this.dims = dims;
    }

    @Override
    public String name() {
        return "naive";
    }

    @Override
    public Session session() {
        return this::perform;
    }

    /** One operation, its answer dropped; a switch expression for the reason {@link ServiceTarget}'s is. */
    private Object perform(Operation operation, Population.Pick pick) {
        return switch (operation) {
            case INBOX -> database.read(handle -> inbox(handle, pick));
            case HISTORY -> database.read(handle -> {
                handle.first(COUNT, row -> row.getLong(1), appId, pick.conversationId());
                return handle.list(PAGE, row -> row.getLong(1), appId, pick.conversationId(), 50, 0);
            });
            case CONTEXT -> database.read(handle -> {
                var conversation = handle.first(CONVERSATION, row -> new Talk(row.getLong(1), row.getLong(2)),
                        appId, pick.conversationId()).orElseThrow();
                handle.first(CHARACTER, row -> row.getString(1), appId, conversation.characterId());
                handle.first(USER, row -> row.getString(1), appId, conversation.userId());
                List<Long> page = handle.list(PAGE, row -> row.getLong(1), appId, pick.conversationId(), 20, 0);
                return dims == 0 ? page : recall(handle, pick, 5);
            });
            case APPEND -> database.inTransaction(handle -> append(handle, pick));
            case APPEND_BATCH -> database.inTransaction(handle -> { // the naive way: the single append, a hundred times
                for (int i = 0; i < Operation.BATCH; i++) {
                    append(handle, pick);
                }
                return null;
            });
            case READ -> database.read(handle -> {
                long read = handle.first(MARK.bind("app_id", appId).bind("message_id", pick.messageId())
                        .bind("conversation_id", pick.conversationId()), row -> row.getLong(1)).orElse(0L);
                return handle.first(UNREAD, row -> row.getLong(1), appId, pick.conversationId(), read);
            });
            case BROWSE -> database.read(handle -> {
                handle.first(COUNT_CHARACTERS, row -> row.getLong(1), appId, pick.energy());
                return handle.list(CHARACTERS_BY_ENERGY, row -> row.getLong(1), appId, pick.energy());
            });
            case SEARCH -> database.read(handle -> handle.list(SEARCH, row -> row.getLong(1), appId, pick.userId(),
                    "%" + pick.term() + "%"));
            case RECALL -> database.read(handle -> recall(handle, pick, 10));
            case SEARCH_MEMORIES -> database.read(handle -> handle.list(SEARCH_MEMORIES, row -> row.getLong(1), appId,
                    pick.userId(), "%" + pick.term() + "%"));
            case WINDOW_COUNT -> database.read(handle -> handle.first(CHARACTER_HOUR, row -> row.getLong(1), appId,
                    pick.characterId()));
            case FILTERED_HISTORY -> database.read(handle -> {
                handle.first(COUNT_BY_MODEL, row -> row.getLong(1), appId, pick.conversationId(), pick.model());
                return handle.list(PAGE_BY_MODEL, row -> row.getLong(1), appId, pick.conversationId(), pick.model(), 50, 0);
            });
        };
    }

    /** A conversation's user and character, as {@link #CONVERSATION} reads them. */
    private record Talk(long userId, long characterId) {
    }

    /** An inbox entry of {@link #CONVERSATIONS_OF_USER}: the conversation and its user's read marker. */
    private record Entry(long conversationId, long readSeq) {
    }

    /** What {@link #BUMP} returns: the new message's sequence number, the conversation's user, the id it must follow. */
    private record Bumped(long seq, long userId, long newestId) {
    }

    /** Every embedding of the scope read and compared with the query, the best {@code limit} kept. */
    private List<Memory> recall(Handle handle, Population.Pick pick, int limit) throws SQLException {
        float[] query = Topics.topic(pick.topic(), Math.max(1, dims));
        List<Memory> scored = handle.list(SCOPE, row -> {
            FloatBuffer vector = ByteBuffer.wrap(row.getBytes(3)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            double dot = 0;
            for (int i = 0; i < query.length && i < vector.limit(); i++) {
                dot += query[i] * vector.get(i);
            }
            return new Memory(row.getLong(1), row.getString(2), dot);
        }, appId, pick.userId(), pick.characterId());
        return scored.stream().sorted(Comparator.comparingDouble(Memory::similarity).reversed()).limit(limit).toList();
    }

    /** One query for the page, then two per conversation: the N+1 the seeds describe. */
    private List<Long> inbox(Handle handle, Population.Pick pick) throws SQLException {
        List<Entry> page = handle.list(CONVERSATIONS_OF_USER, row -> new Entry(row.getLong(1), row.getLong(2)), appId, pick.userId());
        for (Entry conversation : page) {
            handle.first(LAST_MESSAGE, row -> row.getString(1), appId, conversation.conversationId());
            handle.first(UNREAD, row -> row.getLong(1), appId, conversation.conversationId(), conversation.readSeq());
        }
        return page.stream().map(Entry::conversationId).toList();
    }

    private Object append(Handle handle, Population.Pick pick) throws SQLException {
        Bumped bumped = handle.first(BUMP, row -> new Bumped(row.getLong(1), row.getLong(2), row.getLong(3)),
                appId, pick.conversationId()).orElseThrow();
        long id = ids.next(1, bumped.newestId(), handle)[0];
        handle.execute(INSERT.bind("app_id", appId).bind("conversation_id", pick.conversationId()).bind("message_id", id)
                .bind("seq", bumped.seq()).bind("user_id", bumped.userId()).bind("content", Target.messageText(sent.incrementAndGet())));
        handle.execute(POINT.bind("message_id", id).bind("app_id", appId).bind("conversation_id", pick.conversationId()));
        return null;
    }
}
