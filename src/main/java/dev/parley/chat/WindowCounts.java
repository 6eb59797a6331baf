package dev.parley.chat;

import dev.parley.config.Durations;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.json.Nullable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Messages in a time window ("this character's messages in the last hour", "this app's in the last
 * minute"), cheap enough for every bot turn: the window is an id range, so each count is an
 * index-only range scan of the window's rows in the one or two partitions that hold it
 * (messages_character_idx, messages_app_time_idx). No rollup table: one maintained on append would
 * put a hot row per app and minute into every append's transaction, and the range scan costs in
 * proportion to the window's rows, which a rate limit keeps small anyway (docs/benchmarks.md).
 * Windows end at the clock's now, plus {@link CharacterMessages#CLOCK_AHEAD} for ids another instance made.
 */
public final class WindowCounts {
    public static final Duration MAX_WINDOW = Duration.ofDays(1);

    static final Query CHARACTER = new Query("count.character_window", """
            SELECT count(*) FROM messages
             WHERE app_id = ? AND author_character_id = ? AND message_id >= ? AND message_id <= ?""");

    static final Query APP = new Query("count.app_window", """
            SELECT count(*) FROM messages WHERE app_id = ? AND message_id >= ? AND message_id <= ?""");

    // By role and by metadata "type" in one pass over the conversation's rows in the window: the
    // primary key bounds it to the conversation, the window's ids to its partitions, in the hot months
    // and the archive's (V19), as message_count counts them. A month being moved is in both (Archive):
    // the archive counts only below the conversation's oldest hot message, older than every hot month.
    // A window (a day at most) never reaches an archived month, which ended longer ago. A soft-deleted
    // message counts by role (it keeps its place, and message_count counts it) but has no type: its
    // metadata is hidden.
    static final NamedQuery CONVERSATION = NamedQuery.of("count.conversation_kinds", """
            SELECT role, CASE WHEN deleted_at IS NULL THEN coalesce(metadata ->> 'type', 'none') END, count(*) FROM (
                SELECT role, metadata, deleted_at FROM messages
                 WHERE app_id = :app_id AND conversation_id = :conversation_id
                   AND message_id > :conversation_id AND message_id >= :from_id AND message_id <= :to_id
                UNION ALL
                SELECT role, metadata, deleted_at FROM %s
                 WHERE app_id = :app_id AND conversation_id = :conversation_id
                   AND message_id > :conversation_id AND message_id >= :from_id AND message_id <= :to_id
                   AND message_id < (SELECT coalesce(min(message_id), :to_id + 1) FROM messages
                                      WHERE app_id = :app_id AND conversation_id = :conversation_id
                                        AND message_id > :conversation_id)) counted
             GROUP BY 1, 2""".formatted(Partitions.ARCHIVE));

    /**
     * How many messages were made in the window that ends now. The window's start is not sent: it moves
     * every millisecond, and the answer's ETag would with it, while the count stays the same.
     */
    public record Count(String window, long messages) {
    }

    /**
     * A conversation's counts, with its messages by role and by metadata "type" ("none" for messages
     * without one; soft-deleted ones by role only): in the window that ends now when one is given, else of all its messages.
     */
    public record ConversationCounts(long messageCount, long lastSeq, long unreadCount, @Nullable String window,
                                     Map<String, Long> byRole, Map<String, Long> byType) {
    }

    private record Kind(String role, String type, long messages) {
    }

    private final Database database;
    private final Clock clock;

    public WindowCounts(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
    }

    public Count character(long appId, long characterId, Duration window) {
        Instant since = clock.instant().minus(window);
        long messages = database.read(handle -> {
            CharacterMessages.creationFloor(handle, appId, characterId); // a character that does not exist is a 404, not 0
            return handle.first(CHARACTER, row -> row.getLong(1), appId, characterId, Ids.floorOf(since),
                    CharacterMessages.newestPossible(clock)).orElseThrow();
        });
        return new Count(Durations.format(window), messages);
    }

    public Count app(long appId, Duration window) {
        Instant since = clock.instant().minus(window);
        long messages = database.read(handle -> handle.first(APP, row -> row.getLong(1), appId, Ids.floorOf(since),
                CharacterMessages.newestPossible(clock)).orElseThrow());
        return new Count(Durations.format(window), messages);
    }

    private record Counted(Stats.ConversationStats totals, List<Kind> kinds) {
    }

    /**
     * The conversation's totals and its messages by role and type, in {@code window} or (null) of all time: read where
     * stats are (a replica, Database.readNearby), both from the one server, so that they agree.
     */
    public ConversationCounts conversation(long appId, long conversationId, Duration window) {
        long from = window == null ? Long.MIN_VALUE : Ids.floorOf(clock.instant().minus(window));
        Counted counted = database.readNearby(handle -> new Counted(Stats.conversation(handle, appId, conversationId),
                handle.list(CONVERSATION.bind("app_id", appId).bind("conversation_id", conversationId).bind("from_id", from)
                                .bind("to_id", CharacterMessages.newestPossible(clock)),
                        row -> new Kind(row.getString(1), row.getString(2), row.getLong(3)))));
        Stats.ConversationStats totals = counted.totals();
        List<Kind> kinds = counted.kinds();
        Map<String, Long> byRole = new TreeMap<>();
        Map<String, Long> byType = new TreeMap<>();
        for (Kind kind : kinds) {
            byRole.merge(kind.role(), kind.messages(), Long::sum);
            if (kind.type() != null) { // null: soft-deleted
                byType.merge(kind.type(), kind.messages(), Long::sum);
            }
        }
        return new ConversationCounts(totals.messageCount(), totals.lastSeq(), totals.unreadCount(),
                window == null ? null : Durations.format(window), byRole, byType);
    }
}
