package dev.parley.db;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The monthly partitions of {@code messages}. Months are ranges of message ids; the two catch-all
 * partitions {@code messages_before} and {@code messages_after} hold anything older or newer than the months
 * made so far. New months are cut from a catch-all (moving any rows it already holds for them).
 *
 * <p>A month gets a partition only when it is asked for (a row of it is about to be written, or it is the current
 * month or one of the next few) or holds rows: the months between are gaps, ranges no partition takes, written down
 * in {@code partition_gaps} (V37). A write into a gap makes its month first ({@link #ensureCovers}). A range that no
 * partition takes and that is no gap is an archived month (or one dropped from the archive): it takes no writes.
 */
public final class Partitions {
    public static final String BEFORE = "messages_before";
    public static final String AFTER = "messages_after";
    private static final Pattern BOUND = Pattern.compile("FOR VALUES FROM \\('?(\\w+)'?\\) TO \\('?(\\w+)'?\\)");

    /** The parent of the hot months (V4). */
    public static final String HOT = "messages";
    /** The parent of the archived months (V19). */
    public static final String ARCHIVE = "parley_archive.messages";

    // A DEFAULT partition is no month: Parley makes none (its catch-alls are ranges), and one an operator attached is
    // left out of the months (parley doctor reports its rows; see requireNoDefaultPartition).
    private static final Query LIST = new Query("partitions.list", """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, pg_total_relation_size(c.oid),
                   c.reltuples >= 0 AS analysed
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = ?::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
            """);
    private static final Query DEFAULT_PARTITION = new Query("partitions.default_partition", """
            SELECT partdefid::regclass::text FROM pg_partitioned_table WHERE partrelid = ?::regclass AND partdefid <> 0""");
    private static final Query LOCK = new Query("partitions.lock",
            "SELECT pg_advisory_xact_lock(hashtext('parley.partitions'))");
    /**
     * The columns a row of a table is moved with, as a list for INSERT and SELECT ({@code columns}): not
     * the generated ones (messages.words, V16), which PostgreSQL computes; and whether an identity
     * column refuses given values unless told OVERRIDING SYSTEM VALUE ({@code identity_always}).
     */
    public static final Query WRITABLE_COLUMNS = new Query("partitions.writable_columns", """
            SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS columns,
                   coalesce(bool_or(attidentity = 'a'), false) AS identity_always
              FROM pg_attribute
             WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''""");
    private static final Query LOCK_TIMEOUT = new Query("partitions.lock_timeout", "SET LOCAL lock_timeout = '10s'");

    /** Where months past every app's retention wait, detached, to be counted out and dropped (Retention). */
    public static final String RETIRED = "parley_retired";

    private static final Query START_MOVE = new Query("partitions.start_move", """
            INSERT INTO partition_moves (partition_name, destination) VALUES (?, ?) ON CONFLICT DO NOTHING""");
    private static final Query MOVES = new Query("partitions.moves", """
            SELECT partition_name FROM partition_moves WHERE destination = ? ORDER BY started_at""");
    private static final Query END_MOVE = new Query("partitions.end_move", "DELETE FROM partition_moves WHERE partition_name = ?");
    private static final Query IN_CURRENT_SCHEMA = new Query("partitions.in_current_schema", """
            SELECT 1 FROM pg_class WHERE relname = ? AND relnamespace = current_schema()::regnamespace""");

    private static final Query GAPS = new Query("partitions.gaps", "SELECT from_id, to_id FROM partition_gaps ORDER BY from_id");
    private static final Query CLEAR_GAPS = new Query("partitions.clear_gaps", "DELETE FROM partition_gaps");
    private static final Query ADD_GAP = new Query("partitions.add_gap", "INSERT INTO partition_gaps (from_id, to_id) VALUES (?, ?)");

    private static final Query DETACH_PENDING = new Query("partitions.detach_pending", """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = ?::regclass AND i.inhdetachpending""");

    private final Database database;
    private final Database maintenance; // DETACH ... CONCURRENTLY waits for old transactions: no request limit may stop it

    /** How long ensureCovers trusts what it last saw of the earliest month. */
    static final Duration REMEMBERED = Duration.ofMinutes(1);

    private volatile List<Partition> hot = List.of(); // as last seen: what archived() and ensureCovers() read
    private volatile List<Gap> gaps = List.of(); // as last seen, with hot
    private volatile long earliestLookedAt = System.nanoTime() - REMEMBERED.toNanos();

    /** Over one pool, as the commands have it: theirs runs without request limits. */
    public Partitions(Database database) {
        this(database, database);
    }

    /**
     * Months made and looked up over {@code database}, which requests share (an import's old month); moved and the
     * catch-all widened over {@code maintenance}, a pool without request limits, as retention and the archive do.
     */
    public Partitions(Database database, Database maintenance) {
        this.database = database;
        this.maintenance = maintenance;
    }

    /**
     * One partition: a month, or a catch-all whose open end is null (MINVALUE or MAXVALUE); its bytes with indexes and
     * TOAST. {@code estimatedRows} is the statistics' count, 0 while the partition was never {@code analysed} (fewer
     * rows than autoanalyze waits for: {@link #rows} counts those).
     */
    public record Partition(String name, Long fromId, Long toId, long estimatedRows, boolean analysed, long bytes) {
        public boolean isCatchAll() {
            return Partitions.isCatchAll(name);
        }
    }

    /** A range of message ids between months that no partition takes, as no row of it was written: {@code [fromId, toId)}. */
    public record Gap(long fromId, long toId) {
        boolean covers(long id) {
            return fromId <= id && id < toId;
        }
    }

    /** The gaps between the hot months, oldest first. */
    public List<Gap> gaps() {
        return database.read(Partitions::gaps);
    }

    /**
     * The ranges between the months that neither a month (hot or archived) nor a gap takes: months archived without a
     * row (gaps once) or dropped from the archive by retention. They take no writes, and were not listed at all.
     */
    public static List<Gap> closed(List<Partition> archived, List<Partition> hot, List<Gap> gaps) {
        List<Gap> taken = new ArrayList<>(gaps);
        Stream.concat(archived.stream(), hot.stream()).forEach(p -> taken.add(new Gap(
                p.fromId() == null ? Long.MIN_VALUE : p.fromId(), p.toId() == null ? Long.MAX_VALUE : p.toId())));
        taken.sort(Comparator.comparingLong(Gap::fromId));
        List<Gap> closed = new ArrayList<>();
        long end = Long.MIN_VALUE; // where the ranges before this one end
        for (int i = 0; i < taken.size(); i++) {
            Gap range = taken.get(i);
            if (i > 0 && end < range.fromId()) {
                closed.add(new Gap(end, range.fromId()));
            }
            end = Math.max(end, range.toId());
        }
        return closed;
    }

    /** The hot months (and catch-alls), oldest first. */
    public List<Partition> list() {
        return database.read(Partitions::list);
    }

    /** The archived months, oldest first. */
    public List<Partition> listArchived() {
        return database.read(handle -> list(handle, ARCHIVE));
    }

    /**
     * The rows of {@code partition} of {@code parent}: the statistics' estimate once it was analysed, counted before (a
     * month with fewer rows than autoanalyze waits for has no estimate at all, which would read as empty).
     */
    public long rows(String parent, Partition partition) {
        if (partition.analysed()) {
            return partition.estimatedRows();
        }
        return database.read(handle -> handle.first(new Query("partitions.count_unanalysed",
                "SELECT count(*) FROM " + schemaOf(parent) + partition.name()), row -> row.getLong(1)).orElseThrow());
    }

    /** Makes sure every month from {@code first} to {@code last} (inclusive) has its own partition. */
    public void ensure(YearMonth first, YearMonth last) {
        SortedSet<YearMonth> months = new TreeSet<>();
        for (YearMonth month = first; !month.isAfter(last); month = month.plusMonths(1)) {
            months.add(month);
        }
        database.inTransaction(handle -> {
            make(handle, months, false);
            return null;
        });
        forget();
    }

    /**
     * Makes sure the month of each of {@code times}, an import's original times, has its own partition: one older or
     * newer than every month made so far is cut from its catch-all (rows would otherwise land there), one in a gap
     * between months is made (a row there would find no partition). Only those months: the months between them and the
     * others stay gaps. Remembers for {@link #REMEMBERED} which months there are, so months already made cost no
     * statement; a month that retention took out meanwhile (on any instance) is made again once that has passed.
     * A time in the archive ({@link #archived}) must be refused before: its month is not made again.
     */
    public void ensureCovers(Collection<Instant> times) {
        SortedSet<YearMonth> months = times.stream().map(time -> YearMonth.from(time.atZone(ZoneOffset.UTC)))
                .collect(Collectors.toCollection(TreeSet::new));
        if (months.isEmpty()) {
            return;
        }
        List<Partition> seen = hot;
        if (System.nanoTime() - earliestLookedAt < REMEMBERED.toNanos() && months.stream().allMatch(m -> hasMonth(seen, m))) {
            return;
        }
        database.inTransaction(handle -> {
            make(handle, months, false);
            return null;
        });
        lookAgain();
    }

    /**
     * Whether the month of each of {@code times} has its own partition, as last seen: no statement, for a check inside a
     * transaction. When not, {@link #ensureCovers} makes them.
     */
    public boolean covers(Collection<Instant> times) {
        List<Partition> seen = hot;
        return times.stream().allMatch(time -> hasMonth(seen, YearMonth.from(time.atZone(ZoneOffset.UTC))));
    }

    /**
     * Whether {@code time} falls in a month taken out of the hot table (as seen within {@link #REMEMBERED}): an
     * archived one, read-only, or one retention dropped from the archive since. No hot partition takes its rows, and it
     * is no gap. A time older than every month is not: the catch-all below them takes it, and {@link #ensureCovers}
     * its month; nor is one in a gap between months, whose month {@link #ensureCovers} makes.
     */
    public boolean archived(Instant time) {
        if (System.nanoTime() - earliestLookedAt >= REMEMBERED.toNanos()) {
            lookAgain();
        }
        long id = Ids.floorOf(time);
        for (Partition partition : hot) {
            if ((partition.fromId() == null || partition.fromId() <= id) && (partition.toId() == null || id < partition.toId())) {
                return false;
            }
        }
        return gaps.stream().noneMatch(gap -> gap.covers(id));
    }

    private void lookAgain() {
        database.read(handle -> {
            hot = list(handle);
            gaps = gaps(handle);
            return null;
        });
        earliestLookedAt = System.nanoTime();
    }

    /** Looks again when next needed (here; elsewhere within {@link #REMEMBERED}). */
    private void forget() {
        earliestLookedAt = System.nanoTime() - REMEMBERED.toNanos();
    }

    private static boolean hasMonth(List<Partition> partitions, YearMonth month) {
        long floor = floorOf(month);
        return partitions.stream().anyMatch(p -> !p.isCatchAll() && p.fromId() == floor);
    }

    /**
     * Gives each of {@code wanted} its partition, in the caller's transaction, under the advisory lock: cut from a
     * catch-all with every month that holds rows in the range cut (they move out of it), or made in a gap. The rest
     * of a range cut from the older catch-all is written down as a gap; from the newer one, every month up to the
     * newest wanted is made, as the clock's ids reach them. An archived month is left as it is: no partition. With
     * {@code catchAllRows}, every month with rows in a catch-all is wanted too.
     */
    private static void make(Handle handle, SortedSet<YearMonth> wanted, boolean catchAllRows) throws SQLException {
        handle.first(LOCK, row -> null);
        handle.execute(LOCK_TIMEOUT);
        List<Partition> partitions = list(handle);
        if (catchAllRows) {
            wanted = new TreeSet<>(wanted);
            wanted.addAll(monthsWithRows(handle, BEFORE, Long.MIN_VALUE, Long.MAX_VALUE));
            wanted.addAll(monthsWithRows(handle, AFTER, Long.MIN_VALUE, Long.MAX_VALUE));
        }
        TreeMap<Long, Long> gaps = new TreeMap<>();
        gaps(handle).forEach(gap -> gaps.put(gap.fromId(), gap.toId()));
        Map<Long, Long> before = new TreeMap<>(gaps);
        Partition older = find(partitions, BEFORE);
        Partition newer = find(partitions, AFTER);
        SortedSet<YearMonth> fromOlder = new TreeSet<>();
        SortedSet<YearMonth> fromNewer = new TreeSet<>();
        SortedSet<YearMonth> inGaps = new TreeSet<>();
        for (YearMonth month : wanted) {
            long floor = floorOf(month);
            if (hasMonth(partitions, month)) {
                continue;
            }
            if (floor < older.toId()) {
                fromOlder.add(month);
            } else if (floor >= newer.fromId()) {
                fromNewer.add(month);
            } else if (gapAt(gaps, floor)) {
                inGaps.add(month);
            } // else archived, or dropped from the archive: it takes no writes
        }
        if (!fromOlder.isEmpty()) {
            long from = floorOf(fromOlder.first());
            cut(handle, BEFORE, fromOlder, from, older.toId(), gaps, "FROM (MINVALUE) TO (%d)".formatted(from));
        }
        if (!fromNewer.isEmpty()) {
            // Every month up to the newest asked for, rows or not: the clock's own ids go there, which make no month first.
            for (YearMonth month = monthOf(newer.fromId()); month.isBefore(fromNewer.last()); month = month.plusMonths(1)) {
                fromNewer.add(month);
            }
            long to = floorOf(fromNewer.last().plusMonths(1));
            cut(handle, AFTER, fromNewer, newer.fromId(), to, gaps, "FROM (%d) TO (MAXVALUE)".formatted(to));
        }
        for (YearMonth month : inGaps) {
            create(handle, month);
            removeGap(gaps, floorOf(month), floorOf(month.plusMonths(1)));
        }
        saveGaps(handle, before, gaps);
    }

    /**
     * Gives every month with rows in a catch-all its partition, moving the rows there, in one transaction (the
     * catch-all is detached meanwhile, as for any month cut from it); 'parley partitions --ensure'. Returns the rows
     * the catch-alls held before.
     */
    public long moveCatchAllRows() {
        long rows = catchAllRows();
        if (rows > 0) {
            database.inTransaction(handle -> {
                make(handle, new TreeSet<>(), true);
                return null;
            });
            forget();
        }
        return rows;
    }

    /** The current month and the next {@code monthsAhead}, as the daily task keeps them. */
    public void ensureAhead(Instant now, int monthsAhead) {
        YearMonth current = YearMonth.from(now.atZone(ZoneOffset.UTC));
        ensure(current, current.plusMonths(monthsAhead));
    }

    /**
     * Takes a month's partition out of messages without blocking readers or writers, and moves it into
     * {@code schema}. {@code DETACH ... CONCURRENTLY} waits for the transactions that may still read it and
     * takes no lock that blocks them (it runs outside any transaction, as it must). The move is written
     * down first ({@code partition_moves}, V18): a crash part way is finished by {@link #finishMoves}.
     */
    public void move(String name, String schema) {
        if (isCatchAll(name)) {
            throw new IllegalArgumentException(name + " is a catch-all partition: it stays");
        }
        maintenance.read(handle -> {
            requireNoDefaultPartition(handle, HOT); // before the move is written down, which could then never finish
            return handle.execute(START_MOVE, quoted(name), quoted(schema));
        });
        finishMoves(schema);
    }

    /** The partitions whose move to {@code schema} was written down and not done, oldest first. */
    public List<String> movesTo(String schema) {
        return maintenance.read(handle -> handle.list(MOVES, row -> row.getString(1), schema));
    }

    /** Finishes every move to {@code schema} written down and not done: detaches what is still attached, then moves it. */
    public void finishMoves(String schema) {
        maintenance.read(handle -> {
            for (String move : handle.list(MOVES, row -> row.getString(1), schema)) {
                String name = quoted(move);
                detachConcurrently(handle, HOT, name);
                if (handle.first(IN_CURRENT_SCHEMA, row -> true, name).isPresent()) {
                    handle.execute(new Query("partitions.set_schema", "ALTER TABLE " + name + " SET SCHEMA " + quoted(schema)));
                }
                handle.execute(END_MOVE, name);
            }
            return null;
        });
    }

    /**
     * Takes {@code name} out of {@code parent} without blocking its readers or writers, if it is still in:
     * first finishing a detach of the parent's that a crash left pending.
     */
    public static void detachConcurrently(Handle handle, String parent, String name) throws SQLException {
        requireNoDefaultPartition(handle, parent);
        for (String pending : handle.list(DETACH_PENDING, row -> row.getString(1), parent)) {
            handle.execute(new Query("partitions.detach_finalize",
                    "ALTER TABLE " + parent + " DETACH PARTITION " + schemaOf(parent) + quoted(pending) + " FINALIZE"));
        }
        if (list(handle, parent).stream().anyMatch(p -> p.name().equals(name))) {
            handle.execute(new Query("partitions.detach_concurrently",
                    "ALTER TABLE " + parent + " DETACH PARTITION " + schemaOf(parent) + quoted(name) + " CONCURRENTLY"));
        }
    }

    /** The DEFAULT partition of {@code parent} (messages, or {@link #ARCHIVE}), if an operator attached one. */
    public Optional<String> defaultPartition(String parent) {
        return database.read(handle -> defaultPartition(handle, parent));
    }

    private static Optional<String> defaultPartition(Handle handle, String parent) throws SQLException {
        return handle.first(DEFAULT_PARTITION, row -> row.getString(1), parent);
    }

    /**
     * Refuses to go on when {@code parent} has a DEFAULT partition: PostgreSQL detaches no partition concurrently
     * beside one, so no month of it can be archived or dropped whole. Called before anything is written down.
     */
    public static void requireNoDefaultPartition(Handle handle, String parent) throws SQLException {
        Optional<String> found = defaultPartition(handle, parent);
        if (found.isPresent()) {
            throw new IllegalStateException(besideDefault(parent, found.get()) + ": no month can be archived or dropped whole "
                    + "until its rows are moved out and it is dropped ('parley doctor' reports its rows)");
        }
    }

    /** What a DEFAULT partition {@code name} of {@code parent} stops, for the messages that name it. */
    public static String besideDefault(String parent, String name) {
        return parent + " has a DEFAULT partition, " + name + ", beside which PostgreSQL detaches no partition concurrently";
    }

    /** "parley_archive." for the archive's parent; nothing for messages, whose partitions are in the current schema. */
    private static String schemaOf(String parent) {
        int dot = parent.indexOf('.');
        return dot < 0 ? "" : parent.substring(0, dot + 1);
    }

    /**
     * Makes the catch-all for older rows reach over {@code dropped}, a month retention just took out, when nothing but
     * gaps lies between the two: a row of it (an import) still has a partition to go to, and its month is made again.
     * Not across an archived month, whose range takes no writes: then {@code dropped} is left to no partition either.
     */
    public void widenBefore(Partition dropped) {
        maintenance.inTransaction(handle -> {
            handle.first(LOCK, row -> null);
            handle.execute(LOCK_TIMEOUT);
            Partition before = find(list(handle), BEFORE);
            TreeMap<Long, Long> gaps = new TreeMap<>();
            gaps(handle).forEach(gap -> gaps.put(gap.fromId(), gap.toId()));
            Map<Long, Long> was = new TreeMap<>(gaps);
            if (before.toId() < dropped.toId() && gapsCover(gaps, before.toId(), dropped.fromId())) {
                handle.execute(new Query("partitions.detach", "ALTER TABLE messages DETACH PARTITION " + BEFORE));
                handle.execute(new Query("partitions.attach", "ALTER TABLE messages ATTACH PARTITION " + BEFORE
                        + " FOR VALUES FROM (MINVALUE) TO (%d)".formatted(dropped.toId())));
                removeGap(gaps, before.toId(), dropped.toId());
                saveGaps(handle, was, gaps);
            }
            return null;
        });
        forget();
    }

    /**
     * Makes the gaps' months that ended by {@code limitId} archived ones, as the archive takes every month that ended
     * by then: an empty month made there would have been archived with the others. They take no writes from then on.
     */
    public void archiveGapsBefore(long limitId) {
        maintenance.inTransaction(handle -> {
            handle.first(LOCK, row -> null);
            handle.execute(LOCK_TIMEOUT);
            TreeMap<Long, Long> gaps = new TreeMap<>();
            gaps(handle).forEach(gap -> gaps.put(gap.fromId(), gap.toId()));
            Map<Long, Long> was = new TreeMap<>(gaps);
            long ended = floorOf(monthOf(limitId)); // the months before the limit's own ended by it
            if (!gaps.isEmpty()) {
                removeGap(gaps, gaps.firstKey(), ended);
            }
            saveGaps(handle, was, gaps);
            return null;
        });
        forget();
    }

    private static boolean isCatchAll(String name) {
        return name.equals(BEFORE) || name.equals(AFTER);
    }

    static String quoted(String identifier) {
        if (!identifier.matches("[a-z_][a-z0-9_]*")) {
            throw new IllegalArgumentException("not a plain identifier: " + identifier);
        }
        return identifier;
    }

    /** Rows sitting in the catch-all partitions: each is a month that was not made in time. */
    public long catchAllRows() {
        return database.read(handle -> handle.first(new Query("partitions.catch_all_rows",
                "SELECT (SELECT count(*) FROM " + BEFORE + ") + (SELECT count(*) FROM " + AFTER + ")"),
                row -> row.getLong(1)).orElse(0L));
    }

    public static String nameOf(YearMonth month) {
        return "messages_y%04dm%02d".formatted(month.getYear(), month.getMonthValue());
    }

    public static long floorOf(YearMonth month) {
        return Ids.floorOf(month.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant());
    }

    private static YearMonth monthOf(long id) {
        return YearMonth.from(Ids.timeOf(id).atZone(ZoneOffset.UTC));
    }

    /**
     * Detaches a catch-all, creates {@code months} and every other month of {@code [from, to)} that holds rows in it,
     * moves those rows out of it and re-attaches it, smaller ({@code newBound}); the months of the range left without
     * a partition are gaps.
     */
    private static void cut(Handle handle, String catchAll, SortedSet<YearMonth> months, long from, long to,
                            TreeMap<Long, Long> gaps, String newBound) throws SQLException {
        handle.execute(new Query("partitions.detach", "ALTER TABLE messages DETACH PARTITION " + catchAll));
        SortedSet<YearMonth> made = new TreeSet<>(months);
        made.addAll(monthsWithRows(handle, catchAll, from, to));
        for (YearMonth month : made) {
            create(handle, month);
        }
        String moved = "message_id >= %d AND message_id < %d".formatted(from, to);
        String columns = handle.first(WRITABLE_COLUMNS, row -> row.getString("columns"), HOT).orElseThrow();
        handle.execute(new Query("partitions.move_rows",
                "INSERT INTO messages (" + columns + ") SELECT " + columns + " FROM " + catchAll + " WHERE " + moved));
        handle.execute(new Query("partitions.delete_moved", "DELETE FROM " + catchAll + " WHERE " + moved));
        handle.execute(new Query("partitions.attach", "ALTER TABLE messages ATTACH PARTITION " + catchAll + " FOR VALUES " + newBound));
        addGap(gaps, from, to);
        for (YearMonth month : made) {
            removeGap(gaps, floorOf(month), floorOf(month.plusMonths(1)));
        }
    }

    private static void create(Handle handle, YearMonth month) throws SQLException {
        handle.execute(new Query("partitions.create", "CREATE TABLE " + nameOf(month)
                + " PARTITION OF messages FOR VALUES FROM (%d) TO (%d)".formatted(floorOf(month), floorOf(month.plusMonths(1)))));
    }

    /** The months of the rows of {@code table} with ids in {@code [from, to)}. */
    private static List<YearMonth> monthsWithRows(Handle handle, String table, long from, long to) throws SQLException {
        return handle.list(new Query("partitions.months_with_rows", "SELECT DISTINCT to_char(parley_id_time(message_id) "
                + "AT TIME ZONE 'UTC', 'YYYY-MM') FROM " + table + " WHERE message_id >= ? AND message_id < ?"),
                row -> YearMonth.parse(row.getString(1)), from, to);
    }

    private static List<Gap> gaps(Handle handle) throws SQLException {
        return handle.list(GAPS, row -> new Gap(row.getLong(1), row.getLong(2)));
    }

    private static boolean gapAt(TreeMap<Long, Long> gaps, long id) {
        Map.Entry<Long, Long> gap = gaps.floorEntry(id);
        return gap != null && id < gap.getValue();
    }

    /** Whether the gaps take all of {@code [from, to)}. */
    private static boolean gapsCover(TreeMap<Long, Long> gaps, long from, long to) {
        long at = from;
        while (at < to) {
            Map.Entry<Long, Long> gap = gaps.floorEntry(at);
            if (gap == null || gap.getValue() <= at) {
                return false;
            }
            at = gap.getValue();
        }
        return true;
    }

    /** Adds {@code [from, to)} to the gaps, merged with those it overlaps or touches. */
    private static void addGap(TreeMap<Long, Long> gaps, long from, long to) {
        Map.Entry<Long, Long> below = gaps.floorEntry(from);
        if (below != null && below.getValue() >= from) {
            from = below.getKey();
            to = Math.max(to, below.getValue());
        }
        for (Map.Entry<Long, Long> gap = gaps.ceilingEntry(from); gap != null && gap.getKey() <= to; gap = gaps.ceilingEntry(from)) {
            to = Math.max(to, gap.getValue());
            gaps.remove(gap.getKey());
        }
        gaps.put(from, to);
    }

    /** Takes {@code [from, to)} out of the gaps. */
    private static void removeGap(TreeMap<Long, Long> gaps, long from, long to) {
        Map.Entry<Long, Long> below = gaps.lowerEntry(from);
        if (below != null && below.getValue() > from) {
            gaps.put(below.getKey(), from);
            if (below.getValue() > to) {
                gaps.put(to, below.getValue());
            }
        }
        for (Map.Entry<Long, Long> gap = gaps.ceilingEntry(from); gap != null && gap.getKey() < to; gap = gaps.ceilingEntry(from)) {
            gaps.remove(gap.getKey());
            if (gap.getValue() > to) {
                gaps.put(to, gap.getValue());
            }
        }
    }

    /** Writes the gaps down, if they changed from {@code before}. */
    private static void saveGaps(Handle handle, Map<Long, Long> before, TreeMap<Long, Long> gaps) throws SQLException {
        if (before.equals(gaps)) {
            return;
        }
        handle.execute(CLEAR_GAPS);
        for (Map.Entry<Long, Long> gap : gaps.entrySet()) {
            handle.execute(ADD_GAP, gap.getKey(), gap.getValue());
        }
    }

    private static List<Partition> list(Handle handle) throws SQLException {
        return list(handle, HOT);
    }

    /** The partitions of {@code parent} (messages, or {@link #ARCHIVE}), oldest first. */
    public static List<Partition> list(Handle handle, String parent) throws SQLException {
        return handle.list(LIST, row -> {
            Matcher m = BOUND.matcher(row.getString(2));
            if (!m.find()) {
                throw new IllegalStateException("unexpected partition bound on " + row.getString(1) + ": " + row.getString(2));
            }
            return new Partition(row.getString(1), bound(m.group(1)), bound(m.group(2)), Math.max(0, row.getLong(3)),
                    row.getBoolean(5), row.getLong(4));
        }, parent).stream().sorted(Comparator.comparing(p -> p.fromId() == null ? Long.MIN_VALUE : p.fromId())).toList();
    }

    private static Long bound(String text) {
        return text.equals("MINVALUE") || text.equals("MAXVALUE") ? null : Long.parseLong(text);
    }

    private static Partition find(List<Partition> partitions, String name) {
        return partitions.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("partition " + name + " is missing: run 'parley migrate'"));
    }
}
