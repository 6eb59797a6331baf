package dev.parley.db;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The monthly partitions of {@code messages}. Months are ranges of message ids; the two catch-all
 * partitions {@code messages_before} and {@code messages_after} hold anything outside the months
 * made so far. New months are cut from a catch-all (moving any rows it already holds for them).
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

    private static final Query DETACH_PENDING = new Query("partitions.detach_pending", """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = ?::regclass AND i.inhdetachpending""");

    private final Database database;
    private final Database maintenance; // DETACH ... CONCURRENTLY waits for old transactions: no request limit may stop it

    /** How long ensureCovers trusts what it last saw of the earliest month. */
    static final Duration REMEMBERED = Duration.ofMinutes(1);

    /** Where the earliest month's partition starts, as last seen; MAX_VALUE until ensureCovers first looks. */
    private volatile long earliestMonthFloor = Long.MAX_VALUE;
    private volatile List<Partition> hot = List.of(); // as last seen: what archived() reads
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
        database.inTransaction(handle -> {
            handle.first(LOCK, row -> null);
            handle.execute(LOCK_TIMEOUT);
            List<Partition> partitions = list(handle);
            long after = find(partitions, AFTER).fromId();
            long before = find(partitions, BEFORE).toId();
            if (floorOf(last.plusMonths(1)) > after) {
                cut(handle, AFTER, monthOf(after), last, "FROM (%d) TO (MAXVALUE)".formatted(floorOf(last.plusMonths(1))));
            }
            if (floorOf(first) < before) {
                cut(handle, BEFORE, first, monthOf(before).minusMonths(1), "FROM (MINVALUE) TO (%d)".formatted(floorOf(first)));
            }
            return null;
        });
    }

    /**
     * Makes sure the month of {@code time}, an imported original time, has its own partition when it is
     * older than every month made so far (rows would otherwise land in the catch-all). Remembers for
     * {@link #REMEMBERED} how far back the months go, so a time already covered costs no statement; a
     * month that retention took out meanwhile (on any instance) is made again once that has passed.
     * A time in the archive ({@link #archived}) must be refused before: its month would be made again.
     */
    public void ensureCovers(Instant time) {
        YearMonth month = YearMonth.from(time.atZone(ZoneOffset.UTC));
        if (floorOf(month) >= earliestMonthFloor && System.nanoTime() - earliestLookedAt < REMEMBERED.toNanos()) {
            return;
        }
        ensure(month, month); // cuts every month from it up to the earliest one made
        lookAgain();
    }

    /**
     * Whether {@code time} falls in a month taken out of the hot table (as seen within {@link #REMEMBERED}): an
     * archived one, read-only, or one retention dropped from the archive since. No hot partition takes its rows. A
     * time older than every month is not: the catch-all below them takes it, and {@link #ensureCovers} its month.
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
        return true;
    }

    private void lookAgain() {
        List<Partition> partitions = list();
        earliestMonthFloor = find(partitions, BEFORE).toId();
        hot = partitions;
        earliestLookedAt = System.nanoTime();
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
     * Makes the catch-all for older rows reach up to {@code toId}, where the oldest month now begins: after
     * that month's partition was taken out, a row of it (an import) still has a partition to go to.
     */
    public void widenBefore(long toId) {
        maintenance.inTransaction(handle -> {
            handle.first(LOCK, row -> null);
            handle.execute(LOCK_TIMEOUT);
            Partition before = find(list(handle), BEFORE);
            if (before.toId() < toId) {
                handle.execute(new Query("partitions.detach", "ALTER TABLE messages DETACH PARTITION " + BEFORE));
                handle.execute(new Query("partitions.attach", "ALTER TABLE messages ATTACH PARTITION " + BEFORE
                        + " FOR VALUES FROM (MINVALUE) TO (%d)".formatted(toId)));
            }
            return null;
        });
        earliestLookedAt = System.nanoTime() - REMEMBERED.toNanos(); // looked at again when next needed, here; elsewhere within REMEMBERED
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

    /** Detaches a catch-all, creates the months, moves their rows out of it and re-attaches it, smaller. */
    private static void cut(Handle handle, String catchAll, YearMonth from, YearMonth to, String newBound) throws SQLException {
        handle.execute(new Query("partitions.detach", "ALTER TABLE messages DETACH PARTITION " + catchAll));
        for (YearMonth month = from; !month.isAfter(to); month = month.plusMonths(1)) {
            handle.execute(new Query("partitions.create", "CREATE TABLE " + nameOf(month)
                    + " PARTITION OF messages FOR VALUES FROM (%d) TO (%d)".formatted(floorOf(month), floorOf(month.plusMonths(1)))));
        }
        String moved = "message_id >= %d AND message_id < %d".formatted(floorOf(from), floorOf(to.plusMonths(1)));
        String columns = handle.first(WRITABLE_COLUMNS, row -> row.getString("columns"), HOT).orElseThrow();
        handle.execute(new Query("partitions.move_rows",
                "INSERT INTO messages (" + columns + ") SELECT " + columns + " FROM " + catchAll + " WHERE " + moved));
        handle.execute(new Query("partitions.delete_moved", "DELETE FROM " + catchAll + " WHERE " + moved));
        handle.execute(new Query("partitions.attach", "ALTER TABLE messages ATTACH PARTITION " + catchAll + " FOR VALUES " + newBound));
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
