package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.util.ArrayList;
import java.util.List;

/**
 * An app's users ranked by one named counter, highest first, ties by user id (the earlier user first).
 * The counters are read from leaderboard_entries, which a trigger on users keeps in step with every write
 * of their counters (V35), so a page is one range of an index and never reads users' counters. Values are
 * those last written: increments this instance holds for a flush (CounterBuffer) are not ranked yet.
 *
 * <p>Ranks are standard competition ranks (1, 2, 2, 4): one more than the users with a higher value.
 */
public final class Leaderboards {
    // Bound once, by name, in "page" (as Inbox.PAGE). The rest of a tie comes first, then the lower values, each an
    // exact range of leaderboard_entries_rank_idx read in index order: paging through a tie of a million users at 0
    // reads no more of it than each page takes.
    static final Query PAGE = new Query("leaderboard.page", """
            WITH page AS (SELECT ?::bigint AS app_id, ?::text AS name, ?::bigint AS value, ?::bigint AS user_id,
                                 ?::int AS size)
            SELECT listed.user_id, listed.value, u.external_id, u.profile
              FROM ((SELECT e.user_id, e.value FROM leaderboard_entries e
                      WHERE e.app_id = (SELECT app_id FROM page) AND e.name = (SELECT name FROM page)
                        AND e.value = (SELECT value FROM page) AND e.user_id > (SELECT user_id FROM page)
                      ORDER BY e.user_id
                      LIMIT (SELECT size FROM page))
                    UNION ALL
                    (SELECT e.user_id, e.value FROM leaderboard_entries e
                      WHERE e.app_id = (SELECT app_id FROM page) AND e.name = (SELECT name FROM page)
                        AND e.value < (SELECT value FROM page)
                      ORDER BY e.value DESC, e.user_id
                      LIMIT (SELECT size FROM page))
                    ORDER BY value DESC, user_id
                    LIMIT (SELECT size FROM page)) listed
              JOIN users u ON u.app_id = (SELECT app_id FROM page) AND u.user_id = listed.user_id
             ORDER BY listed.value DESC, listed.user_id""");

    // One user's value, and how many of the app's users have more: an index-only count of the entries above it.
    static final Query RANK = new Query("leaderboard.rank", """
            SELECT e.value,
                   1 + (SELECT count(*) FROM leaderboard_entries a
                         WHERE a.app_id = e.app_id AND a.name = e.name AND a.value > e.value) AS rank
              FROM leaderboard_entries e
             WHERE e.app_id = ? AND e.user_id = ? AND e.name = ?""");

    /** One user's place on a leaderboard. */
    public record Entry(
            long rank,
            @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
            String externalId,
            JsonText profile,
            long value) {
    }

    /**
     * Where a page starts: after the user {@code userId} with {@code value}, the {@code position}th entry (its rank
     * {@code rank}); the start of the board is position 0.
     */
    public record Position(long value, long userId, long rank, long position) {
        public static final Position START = new Position(Long.MAX_VALUE, 0, 0, 0);

        /** The position of {@code entry}, listed next after this one. */
        private Position after(Entry entry) {
            return new Position(entry.value(), entry.userId(), entry.rank(), position + 1);
        }

        /** The rank of the entry listed next, with {@code value}: its tie's, or one past every entry before it. */
        private long rankOf(long next) {
            return position > 0 && next == value ? rank : position + 1;
        }
    }

    /** A user's standing on one counter: null value and rank when no value of it is written for the user. */
    public record Standing(
            @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
            String counter,
            @Nullable Long value,
            @Nullable Long rank) {
    }

    private record Row(long userId, long value, String externalId, JsonText profile) {
    }

    private static final RowMapper<Row> ROW = row -> new Row(row.getLong("user_id"), row.getLong("value"),
            row.getString("external_id"), JsonText.stored(row.getString("profile")));

    private final Database database;

    public Leaderboards(Database database) {
        this.database = database;
    }

    /**
     * Up to {@code limit} entries of the app's leaderboard by {@code counter} after {@code after}, each ranked from
     * it; an empty list for a counter no user has.
     */
    public List<Entry> page(long appId, String counter, Position after, int limit) {
        List<Row> rows = database.readNearby(handle -> handle.list(PAGE, ROW, appId, counter, after.value(), after.userId(), limit));
        List<Entry> entries = new ArrayList<>(rows.size());
        Position position = after;
        for (Row row : rows) {
            var entry = new Entry(position.rankOf(row.value()), row.userId(), row.externalId(), row.profile(), row.value());
            entries.add(entry);
            position = position.after(entry);
        }
        return entries;
    }

    /** The user's value of {@code counter} as last written and its rank; throws {@link NotFound} for no such user. */
    public Standing standing(long appId, long userId, String counter) {
        return database.readNearby(handle -> {
            var found = handle.first(RANK, row -> new Standing(userId, counter, row.getLong("value"), row.getLong("rank")),
                    appId, userId, counter);
            if (found.isPresent()) {
                return found.get();
            }
            Users.require(handle, appId, userId);
            return new Standing(userId, counter, null, null);
        });
    }
}
