package dev.parley.chat;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a character said lately, across all its conversations: the messages it authored (not every
 * message of the conversations it is a member of, which would be its users' words too), newest first,
 * through messages_character_idx (V13).
 *
 * <p>As {@link MessageLog} does for a conversation, a page looks at the {@link MessageLog#WINDOW}
 * before its newest possible id first and reaches back to the character's creation only when that
 * window holds too few rows, so the common page plans the one or two partitions of the last month.
 * No message of a character is older than the character. A page that runs out of hot rows goes on into
 * the archived months (one statement more), as a conversation's history does.
 */
public final class CharacterMessages {
    /** How far ahead of this instance's clock another instance may have made an id; newer ids are not looked for. */
    static final Duration CLOCK_AHEAD = Duration.ofHours(1);

    static final Query CREATED = new Query("character.created_at", """
            SELECT created_at FROM characters WHERE app_id = ? AND character_id = ?""");

    // One statement under two names, as MessageLog's history: ids are (lower, upper].
    private static final String NEWEST_FIRST = """
            SELECT %s FROM messages
             WHERE app_id = ? AND author_character_id = ? AND message_id > ? AND message_id <= ?
             ORDER BY message_id DESC
             LIMIT ?""".formatted(MessageLog.COLUMNS);
    static final Query RECENT = new Query("character.messages_recent", NEWEST_FIRST);
    static final Query OLDER = new Query("character.messages_older", NEWEST_FIRST);
    // The archive's months (V19, V32), read only when a page goes back past the hot ones.
    static final Query ARCHIVED = new Query("character.messages_archived", NEWEST_FIRST.replace("FROM messages",
            "FROM " + Partitions.ARCHIVE));

    /** Messages newest first; {@code hasOlder} says whether a page before the last one exists. */
    public record Page(List<Message> messages, boolean hasOlder) {
    }

    private final Database database;
    private final Clock clock;

    public CharacterMessages(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
    }

    /** The character's newest messages with ids below {@code beforeId} ({@link Long#MAX_VALUE}: the newest of all). */
    public Page recent(long appId, long characterId, long beforeId, int limit) {
        return database.read(handle -> {
            long floor = creationFloor(handle, appId, characterId);
            long newest = Math.min(beforeId - 1, newestPossible(clock));
            List<Message> rows = newestFirst(handle, appId, characterId, floor, newest, limit + 1);
            if (rows.size() <= limit) {
                olderFromArchive(handle, appId, characterId, floor, rows.isEmpty() ? newest : rows.getLast().id() - 1,
                        limit + 1, rows);
            }
            boolean more = rows.size() > limit;
            return new Page(more ? rows.subList(0, limit) : rows, more);
        });
    }

    /** Up to {@code limit} messages with ids in (floor, newest], newest first: the window first, the rest only if needed. */
    static List<Message> newestFirst(Handle handle, long appId, long characterId, long floor, long newest, int limit)
            throws SQLException {
        if (newest <= floor) {
            return new ArrayList<>();
        }
        long windowStart = windowStart(floor, newest);
        List<Message> rows = new ArrayList<>(handle.list(RECENT, MessageLog.ROW, appId, characterId, windowStart, newest, limit));
        if (rows.size() < limit && windowStart > floor) {
            rows.addAll(handle.list(OLDER, MessageLog.ROW, appId, characterId, floor, windowStart, limit - rows.size()));
        }
        return rows;
    }

    /**
     * Adds to {@code rows} the archive's messages in (floor, upper], newest first, up to {@code wanted} rows in all: the
     * hot months ran out above them. A month being moved is in both places, and its rows are all hot ones above
     * {@code upper} or none, so none is listed twice. The archive's months are pruned by the ids: a character made
     * after the newest archived month reads none of them.
     */
    private static void olderFromArchive(Handle handle, long appId, long characterId, long floor, long upper, int wanted,
                                         List<Message> rows) throws SQLException {
        if (upper > floor) {
            rows.addAll(handle.list(ARCHIVED, MessageLog.ROW, appId, characterId, floor, upper, wanted - rows.size()));
        }
    }

    static long windowStart(long floor, long newest) {
        return Math.max(floor, Ids.floorOf(Ids.timeOf(newest).minus(MessageLog.WINDOW)));
    }

    /** The id every message of the character is above: that of its creation, less one. The character must exist. */
    static long creationFloor(Handle handle, long appId, long characterId) throws SQLException {
        Instant created = handle.first(CREATED, row -> row.getTimestamp(1), appId, characterId).map(Timestamp::toInstant)
                .orElseThrow(() -> new NotFound("character", characterId));
        return Ids.floorOf(created) - 1;
    }

    /** The newest id a message can have by now, allowing for another instance's clock running ahead. */
    static long newestPossible(Clock clock) {
        return Ids.floorOf(clock.instant().plus(CLOCK_AHEAD));
    }
}
