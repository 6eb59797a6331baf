package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Database#inOneSnapshot}: every read of the work sees one snapshot, on one connection, and the
 * snapshot's order sorts as the snapshots were taken, which is what lets the shared cache tell an older
 * load from a newer one.
 */
class OneSnapshotTest {
    private static final Query CREATE = new Query("test.create", "CREATE TABLE IF NOT EXISTS notes (id bigint)");
    private static final Query ADD = new Query("test.add", "INSERT INTO notes VALUES (1)");
    private static final Query COUNT = new Query("test.count", "SELECT count(*) FROM notes");
    private static final Query BACKEND = new Query("test.backend", "SELECT pg_backend_pid()");
    private static Database database;

    @BeforeAll
    static void connect() {
        database = TestDatabase.pool(TestDatabase.get().fresh("parley_one_snapshot"), 2);
        database.inTransaction(h -> h.execute(CREATE));
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void every_read_of_the_work_sees_the_snapshot_it_began_with_on_one_connection() {
        long before = count();

        Database.Snapshot<long[]> seen = database.inOneSnapshot(() -> {
            long first = count();
            long backend = database.read(h -> h.first(BACKEND, r -> r.getLong(1)).orElseThrow());
            commitElsewhere(); // another connection adds a row and commits
            long second = database.readNearby(h -> h.first(COUNT, r -> r.getLong(1)).orElseThrow());
            long third = database.inTransaction(h -> h.first(COUNT, r -> r.getLong(1)).orElseThrow());
            long sameBackend = database.read(h -> h.first(BACKEND, r -> r.getLong(1)).orElseThrow());
            return new long[] {first, second, third, backend == sameBackend ? 1 : 0};
        });

        assertThat(seen.value()).containsExactly(before, before, before, 1);
        assertThat(count()).as("the row committed meanwhile, seen after").isEqualTo(before + 1);
    }

    @Test
    void a_snapshot_taken_after_a_commit_sorts_after_one_taken_before_it() {
        String first = database.inOneSnapshot(() -> 0).order();
        String again = database.inOneSnapshot(() -> 0).order();
        commitElsewhere();
        String afterCommit = database.inOneSnapshot(() -> 0).order();

        assertThat(again).isGreaterThanOrEqualTo(first);
        assertThat(afterCommit).isGreaterThan(again).hasSameSizeAs(first);
    }

    @Test
    void a_snapshot_whose_transactions_were_still_running_sorts_before_the_one_after_they_ended() throws Exception {
        var holding = new CompletableFuture<Void>();
        var release = new CompletableFuture<Void>();
        var writer = CompletableFuture.runAsync(() -> database.inTransaction(h -> {
            h.execute(ADD); // takes a transaction id, and holds it open
            holding.complete(null);
            release.join();
            return null;
        }));
        holding.get();
        commitElsewhereOnItsOwnPool(); // a later transaction ends: xmax moves past the one still running
        String whileRunning = database.inOneSnapshot(() -> 0).order();
        release.complete(null);
        writer.get();
        String afterItEnded = database.inOneSnapshot(() -> 0).order();

        assertThat(afterItEnded).isGreaterThan(whileRunning);
    }

    @Test
    void a_snapshot_inside_another_is_the_same_snapshot() {
        Database.Snapshot<String> outer = database.inOneSnapshot(() -> {
            commitElsewhere();
            return database.inOneSnapshot(() -> "inner").order();
        });

        assertThat(outer.value()).isEqualTo(outer.order());
    }

    private static long count() {
        return database.read(h -> h.first(COUNT, r -> r.getLong(1)).orElseThrow());
    }

    /** A commit on another thread, so on another connection and outside this thread's snapshot. */
    private static void commitElsewhere() {
        CompletableFuture.runAsync(() -> database.inTransaction(h -> h.execute(ADD))).join();
    }

    private static void commitElsewhereOnItsOwnPool() {
        try (Database other = TestDatabase.pool(TestDatabase.get().target("parley_one_snapshot"), 1)) {
            other.inTransaction(h -> h.execute(ADD));
        }
    }
}
