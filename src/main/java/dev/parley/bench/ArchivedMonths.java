package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The months of a generated dataset that go straight into the archive: the layout {@code parley archive}
 * leaves (each month a partition of {@value Partitions#ARCHIVE} with its primary key and words index, and
 * no hot partition for it), made for a fresh dataset without copying every row twice. The words index is
 * taken off the archive before the rows are written and built afterwards, a month per connection on two
 * connections, then attached: the same index, built in bulk on both cores rather than entry by entry on one.
 */
final class ArchivedMonths {
    /** The archive's columns as the loader writes them: the hot set's, then the language. */
    static final String MESSAGES = Partitions.ARCHIVE + """
             (app_id, conversation_id, user_id, message_id, seq, author_user_id, author_character_id,
              created_at, role, content, metadata, attachments, language)""";
    /** The archive's rows carry their language (the hot set's default): the archive copies it, it has no default. */
    static final String LANGUAGE = "english";
    private static final String WORDS_INDEX = "parley_archive.messages_words_idx";
    private static final String DEFINED_AS = "CREATE INDEX messages_words_idx ON ONLY " + Partitions.ARCHIVE + " ";
    static final Query WORDS_DEFINITION = new Query("bench.archive_words_definition", "SELECT pg_get_indexdef(?::regclass)");
    static final Query WORDS_DROP = new Query("bench.archive_words_drop", "DROP INDEX " + WORDS_INDEX);

    private final Database database;
    private final long limitId;
    private final List<YearMonth> months;
    private final String definition;

    private ArchivedMonths(Database database, long limitId, List<YearMonth> months, String definition) {
        this.database = database;
        this.limitId = limitId;
        this.months = months;
        this.definition = definition;
    }

    /**
     * Makes the archive's partitions for the months from {@code first} that ended before {@code limit}
     * and takes their hot partitions (made empty just before) out; refuses an archive that holds anything, and a hot
     * month that does.
     */
    static ArchivedMonths prepare(Database database, YearMonth first, Instant limit) {
        var partitions = new Partitions(database);
        if (!partitions.listArchived().isEmpty()) {
            throw new IllegalStateException("the archive of this database already holds months: load an archived dataset into a fresh one");
        }
        List<YearMonth> months = new ArrayList<>();
        YearMonth firstHot = first;
        for (; Partitions.floorOf(firstHot.plusMonths(1)) <= Ids.floorOf(limit); firstHot = firstHot.plusMonths(1)) {
            months.add(firstHot);
        }
        long limitId = Partitions.floorOf(firstHot);
        String definition = database.inTransaction(handle -> {
            String defined = handle.first(WORDS_DEFINITION, row -> row.getString(1), WORDS_INDEX).orElseThrow();
            if (!defined.startsWith(DEFINED_AS)) {
                throw new IllegalStateException("the archive's words index is not what the loader expects: " + defined);
            }
            handle.execute(WORDS_DROP);
            for (YearMonth month : months) {
                String name = Partitions.nameOf(month);
                if (handle.first(new Query("bench.archive_hot_rows", "SELECT EXISTS (SELECT 1 FROM " + name + ")"),
                        row -> row.getBoolean(1)).orElseThrow()) {
                    throw new IllegalStateException(name + " holds messages: the loader archives only months it writes itself");
                }
                handle.execute(new Query("bench.archive_hot_drop", "DROP TABLE " + name));
                handle.execute(new Query("bench.archive_create", "CREATE TABLE parley_archive." + name + " PARTITION OF "
                        + Partitions.ARCHIVE + " FOR VALUES FROM (%d) TO (%d)".formatted(Partitions.floorOf(month),
                        Partitions.floorOf(month.plusMonths(1)))));
            }
            return defined;
        });
        return new ArchivedMonths(database, limitId, months, definition);
    }

    /** Messages with an id below this belong to the archive: where the first hot month begins. */
    long limitId() {
        return limitId;
    }

    /**
     * Puts the archive's words index back on the archive alone, invalid until every month has its own:
     * searches with include_archived read the archived months through, as if they had no words index,
     * and each month moved in later gets its index. History, context and inbox never read it.
     */
    void putWordsIndexOnArchiveOnly() {
        database.read(handle -> handle.execute(new Query("bench.archive_words_parent", definition)));
    }

    /** Builds the words index of every archived month, two at a time, and attaches each to the archive's. */
    void indexWords(PrintWriter err) {
        String body = definition.substring(DEFINED_AS.length());
        putWordsIndexOnArchiveOnly();
        var progress = new Progress(err, "archive words", months.size(), "months");
        ExecutorService builders = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> built = new ArrayList<>();
            for (YearMonth month : months) {
                String name = Partitions.nameOf(month);
                built.add(builders.submit(() -> {
                    database.read(handle -> handle.execute(new Query("bench.archive_words_month",
                            "CREATE INDEX " + name + "_words_idx ON parley_archive." + name + " " + body)));
                    database.read(handle -> handle.execute(new Query("bench.archive_words_attach",
                            "ALTER INDEX " + WORDS_INDEX + " ATTACH PARTITION parley_archive." + name + "_words_idx")));
                    progress.add(1);
                }));
            }
            for (Future<?> month : built) {
                DatasetLoader.await(month, "indexing the archive");
            }
        } finally {
            builders.shutdownNow();
        }
        progress.finish(months.size());
    }
}
