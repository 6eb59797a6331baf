package dev.parley.db;

import java.util.List;

/**
 * The words indexes of messages (each month's) and memories, for bulk loads. Appends write their words
 * straight into the index (V17: a full pending list cost the append that flushed it 300-450 ms). A bulk
 * load with nothing else writing goes 2.6 times as fast through GIN's pending list (the bench loader:
 * 9,600 against 3,700 messages/s); its lists are then merged in one pass and the indexes put back.
 */
public final class WordIndexes {
    private static final Query ALL = new Query("words.indexes", """
            SELECT c.oid::regclass::text FROM pg_class c
             WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'messages_words_idx'::regclass)
                OR c.relname = 'memories_words_idx'""");

    private static final Query LEFT_ON = new Query("words.indexes_left_on", """
            SELECT c.oid::regclass::text FROM pg_class c
             WHERE (c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'messages_words_idx'::regclass)
                    OR c.relname = 'memories_words_idx')
               AND 'fastupdate=on' = ANY (c.reloptions)""");

    private WordIndexes() {
    }

    /**
     * Puts back every words index a bulk load left going through its pending list ({@code fastupdate=on}): one that
     * was interrupted (Ctrl-C, a JVM that died) never reached its own {@code finally}, and appends would then flush
     * whole pending lists again (V17). Each index is switched back, then its pending list merged, so that nothing is
     * added to the list after it was merged. Serve runs this at start and {@code parley import} without {@code --bulk};
     * returns the indexes put back.
     */
    public static List<String> putBackLeftOn(Database database) {
        List<String> indexes = database.read(handle -> handle.list(LEFT_ON, row -> row.getString(1)));
        for (String index : indexes) {
            database.read(handle -> handle.execute(new Query("words.fastupdate", "ALTER INDEX " + index + " SET (fastupdate = off)")));
            database.read(handle -> handle.first(new Query("words.merge_pending", "SELECT gin_clean_pending_list(?::regclass)"),
                    row -> row.getLong(1), index));
        }
        return indexes;
    }

    /** Sends every words index's new entries through its pending list ({@code on}), or straight in. */
    public static void throughPendingLists(Database database, boolean on) {
        List<String> indexes = database.read(handle -> handle.list(ALL, row -> row.getString(1)));
        database.inTransaction(handle -> {
            for (String index : indexes) {
                handle.execute(new Query("words.fastupdate", "ALTER INDEX " + index + " SET (fastupdate = " + (on ? "on" : "off") + ")"));
            }
            return null;
        });
    }

    /** Merges every pending list into its index; returns the pages merged. */
    public static long mergePendingLists(Database database) {
        List<String> indexes = database.read(handle -> handle.list(ALL, row -> row.getString(1)));
        long pages = 0;
        for (String index : indexes) {
            pages += database.read(handle -> handle.first(new Query("words.merge_pending", "SELECT gin_clean_pending_list(?::regclass)"),
                    row -> row.getLong(1), index).orElse(0L));
        }
        return pages;
    }
}
