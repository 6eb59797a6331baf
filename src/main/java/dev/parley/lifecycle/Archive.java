package dev.parley.lifecycle;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.time.Clock;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves whole months of messages out of the hot set into {@value #SCHEMA} (V19): a compact copy,
 * without the stored words and with no index but its primary key, that history paging, a message's
 * own id and search with include_archived still read, and context and inbox never do.
 *
 * <p>A month moves in four steps, so that at every moment each of its rows is readable in the hot
 * month, the archived one, or both, and no write to it is lost:
 * <ol>
 *   <li>writes to the hot month are refused (a trigger: the client is told to retry in a moment),
 *       which waits for the writes under way;</li>
 *   <li>in one transaction, the month is copied into a new table that is attached to the archive;</li>
 *   <li>the hot month is detached with {@code DETACH PARTITION … CONCURRENTLY}, which blocks no reader
 *       or writer of messages, and dropped, leaving its range to no hot partition: a write there is refused.</li>
 * </ol>
 * A reader that pages back past the hot months finds the rest in the archive: it looks there when the
 * oldest message it found is not its conversation's first (MessageLog), which holds whichever step
 * the move is at, with no cache to go stale. The move is written down first ({@code partition_moves});
 * a crash is finished by the next run.
 */
public final class Archive {
    private static final Logger LOG = LoggerFactory.getLogger(Archive.class);
    public static final String SCHEMA = "parley_archive";

    /** What a run moved: the months, and their rows; {@code skipped} when another round held the lock ({@link RoundLock}). */
    public record Moved(List<String> months, long rows, boolean skipped) {
        public Moved(List<String> months, long rows) {
            this(months, rows, false);
        }
    }

    static final Query START = new Query("archive.start", """
            INSERT INTO partition_moves (partition_name, destination) VALUES (?, '%s') ON CONFLICT DO NOTHING""".formatted(SCHEMA));
    static final Query END = new Query("archive.end", "DELETE FROM partition_moves WHERE partition_name = ?");
    /** The archive's columns, as a list for INSERT and SELECT: the hot months' less the stored words. */
    public static final Query COLUMNS = new Query("archive.columns", """
            SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = '%s'::regclass AND attnum > 0 AND NOT attisdropped""".formatted(Partitions.ARCHIVE));
    static final Query EXISTS = new Query("archive.exists", "SELECT to_regclass(?) IS NOT NULL");
    /** The archive's parent, which autovacuum never analyses (only its months). */
    public static final Query ANALYZE = new Query("archive.analyze_parent", "ANALYZE " + Partitions.ARCHIVE);

    private final Database database;
    private final Database sessions;
    private final Partitions partitions;
    private final Clock clock;

    /** {@code sessions} holds the round's lock ({@link RoundLock}): {@code database} itself, unless that goes through PgBouncer. */
    public Archive(Database database, Database sessions, Partitions partitions, Clock clock) {
        this.database = database;
        this.sessions = sessions;
        this.partitions = partitions;
        this.clock = clock;
    }

    /** The start of the month before which every month is older than {@code age} now: the archive's limit. */
    public Instant limit(Period age) {
        return clock.instant().atZone(ZoneOffset.UTC).minus(age).toInstant();
    }

    /** The hot months that ended before {@code age} ago, which {@link #archiveOlderThan} would move, oldest first. */
    public List<Partitions.Partition> due(Period age) {
        long limit = Ids.floorOf(limit(age));
        return partitions.list().stream().filter(p -> !p.isCatchAll() && p.toId() <= limit).toList();
    }

    /** How many months that ended before {@code age} ago are in the archive already. */
    public long archivedBefore(Period age) {
        long limit = Ids.floorOf(limit(age));
        return partitions.listArchived().stream().filter(p -> p.toId() != null && p.toId() <= limit).count();
    }

    /**
     * Moves every hot month that ended before {@code age} ago (e.g. 6 months) into the archive, first finishing
     * any move a crash cut short; nothing when another round of archiving or retention is running ({@link RoundLock}).
     */
    public Moved archiveOlderThan(Period age) {
        return RoundLock.exclusively(sessions, "archive", () -> moveOlderThan(age), new Moved(List.of(), 0, true));
    }

    private Moved moveOlderThan(Period age) {
        List<String> moved = new ArrayList<>();
        long rows = finishUnderWay(moved); // named in the summary too: the run that finished them moved them

        for (Partitions.Partition month : due(age)) {
            rows += move(month);
            moved.add(month.name());
        }
        partitions.archiveGapsBefore(Ids.floorOf(limit(age)));
        if (!moved.isEmpty()) {
            // Each month was analysed as it came in; the parent, which autovacuum never analyses, is planned on too.
            database.read(handle -> handle.execute(ANALYZE));
            LOG.info("archived {} month(s) {} ({} messages) into {}", moved.size(), moved, rows, SCHEMA);
        }
        return new Moved(moved, rows);
    }

    /**
     * Finishes each move that was written down and not done: from the copy, or from the detach if the copy is in.
     * Returns the months it finished (none when another round holds the lock).
     */
    public List<String> finishMoves() {
        return RoundLock.exclusively(sessions, "archive", () -> {
            List<String> finished = new ArrayList<>();
            finishUnderWay(finished);
            return finished;
        }, List.of());
    }

    /** The months whose move into the archive was cut short (a crash, Ctrl-C): their writes are refused until finished. */
    public List<String> underWay() {
        return partitions.movesTo(SCHEMA);
    }

    /** Finishes the moves under way, adding their months to {@code finished}; returns the rows it copied. */
    private long finishUnderWay(List<String> finished) {
        long rows = 0;
        for (String name : underWay()) {
            var month = partitions.list().stream().filter(p -> p.name().equals(name)).findFirst();
            if (month.isPresent()) {
                rows += move(month.get());
            } else {
                finish(name);
            }
            finished.add(name);
        }
        return rows;
    }

    /** Moves one hot month; returns its rows. */
    private long move(Partitions.Partition month) {
        String name = month.name();
        String archived = SCHEMA + "." + name;
        database.read(handle -> {
            Partitions.requireNoDefaultPartition(handle, Partitions.HOT); // before the move is written down: it could not finish
            return handle.execute(START, name);
        });
        database.read(handle -> handle.execute(new Query("archive.refuse_writes", """
                CREATE OR REPLACE TRIGGER parley_archiving BEFORE INSERT OR UPDATE OR DELETE ON %s
                   FOR EACH ROW EXECUTE FUNCTION parley_refuse_writes_while_archiving()""".formatted(name))));
        long rows = database.inTransaction(handle -> {
            boolean copied = handle.first(EXISTS, row -> row.getBoolean(1), archived).orElseThrow()
                    && Partitions.list(handle, Partitions.ARCHIVE).stream().anyMatch(p -> p.name().equals(name)); // on this connection: a command's pool has two
            if (copied) { // a move a crash cut short after the copy
                return 0L;
            }
            handle.execute(new Query("archive.drop_partial", "DROP TABLE IF EXISTS " + archived));
            handle.execute(new Query("archive.create", "CREATE TABLE " + archived + " (LIKE " + Partitions.ARCHIVE
                    + " INCLUDING DEFAULTS)"));
            String columns = handle.first(COLUMNS, row -> row.getString(1)).orElseThrow();
            int copiedRows = handle.execute(new Query("archive.copy",
                    "INSERT INTO " + archived + " (" + columns + ") SELECT " + columns + " FROM " + name));
            handle.execute(new Query("archive.primary_key", "ALTER TABLE " + archived
                    + " ADD PRIMARY KEY (app_id, conversation_id, message_id)"));
            handle.execute(new Query("archive.attach", "ALTER TABLE " + Partitions.ARCHIVE + " ATTACH PARTITION " + archived
                    + " FOR VALUES FROM (%d) TO (%d)".formatted(month.fromId(), month.toId())));
            handle.execute(new Query("archive.analyze", "ANALYZE " + archived)); // plans and /v1/stats estimates from the start
            return (long) copiedRows;
        });
        finish(name);
        return rows;
    }

    /**
     * Takes the hot month out (it is in the archive now) and drops it. Nothing takes its range in the hot
     * set: a write with an original time there finds no partition and is refused (409), by the database
     * itself, whatever any instance remembers of the archive.
     */
    private void finish(String name) {
        database.read(handle -> {
            Partitions.detachConcurrently(handle, Partitions.HOT, name);
            handle.execute(new Query("archive.drop_hot", "DROP TABLE IF EXISTS " + name));
            return null;
        });
        database.read(handle -> handle.execute(END, name));
    }
}
