package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.apps.Apps;
import dev.parley.chat.Limits;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.Snippets;
import dev.parley.support.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ImportChunksTest {
    /** Big lines end a chunk before its 2,000th: 2,000 lines of 32 KB messages held 128 MB at once, and a 512 MiB heap ran out. */
    @Test
    void a_chunk_ends_at_its_characters_budget_before_its_line_count() throws Exception {
        String content = "x".repeat(30_000);
        int messages = (int) (Import.CHUNK_CHARS / content.length()) + 20; // past one chunk's characters, far below 2,000 lines
        List<String> lines = new ArrayList<>(List.of(
                Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna")),
                Json.write(Map.of("type", "user", "external_id", "tg:1")),
                Json.write(Map.of("type", "conversation", "external_id", "chat", "user", "tg:1", "character", "luna",
                        "created_at", "2025-03-01T10:00:00Z"))));
        for (int i = 0; i < messages; i++) {
            lines.add(Json.write(Map.of("type", "message", "conversation", "chat", "external_id", "m" + i, "role", "user",
                    "content", content, "created_at", "2025-03-01T10:00:01Z")));
        }
        List<Long> progress = new ArrayList<>();
        Import.Report report = importing(lines, Import.RECENT, progress);

        assertThat(report.rejected()).isZero();
        assertThat(progress).as("lines read at each chunk's end, then at the end").hasSizeGreaterThanOrEqualTo(2);
        assertThat(progress.getFirst()).isLessThan(lines.size());
        assertThat(progress.getLast()).isEqualTo(lines.size());
    }

    /**
     * A run keeps only its most recently resolved external ids of each kind: one resolved before is read again, and one
     * given twice is still refused naming the line that gave it first.
     */
    @Test
    void external_ids_resolved_long_before_are_read_again_and_still_given_only_once() throws Exception {
        List<String> lines = new ArrayList<>(List.of(Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna"))));
        for (int i = 1; i <= 5; i++) {                                                                       // lines 2-6
            lines.add(Json.write(Map.of("type", "user", "external_id", "u" + i)));
        }
        for (int i = 1; i <= 5; i++) {                                                                       // lines 7-11
            lines.add(Json.write(Map.of("type", "conversation", "external_id", "c" + i, "user", "u" + i, "character", "luna",
                    "created_at", "2025-03-01T10:00:00Z")));
        }
        lines.add(Json.write(Map.of("type", "message", "conversation", "c1", "external_id", "m1", "role", "user", "user", "u1",
                "content", "first", "created_at", "2025-03-01T10:00:01Z")));                                  // 12
        lines.add(Json.write(Map.of("type", "memory", "external_id", "k1", "user", "u1", "character", "luna",
                "conversation", "c1", "content", "likes tea")));                                             // 13
        lines.add(Json.write(Map.of("type", "user", "external_id", "u1")));                                  // 14
        lines.add(Json.write(Map.of("type", "conversation", "external_id", "c2", "user", "u2", "character", "luna"))); // 15
        lines.add(Json.write(Map.of("type", "message", "conversation", "c1", "external_id", "m1", "role", "user",
                "content", "again", "created_at", "2025-03-01T10:00:02Z")));                                 // 16

        Import.Report report = importing(lines, 2, new ArrayList<>());

        assertThat(report.imported()).containsEntry("characters", 1L).containsEntry("users", 5L)
                .containsEntry("conversations", 5L).containsEntry("messages", 1L).containsEntry("memories", 1L);
        assertThat(report.firstRejected()).extracting(Import.Rejected::line).containsExactly(14L, 15L, 16L);
        assertThat(report.firstRejected().get(0).reason()).contains("'u1'").contains("line 2");
        assertThat(report.firstRejected().get(1).reason()).contains("'c2'").contains("line 8");
        assertThat(report.firstRejected().get(2).reason()).contains("'m1'").contains("'c1'");
    }

    /**
     * A chunk's messages are written while the next chunk's lines are read: with the first chunk's conversation locked
     * by another transaction, its write waits and the import asks for the second chunk's first line all the same.
     * Both chunks are stored once the lock goes, in file order.
     */
    @Test
    void the_next_chunk_is_read_while_a_chunk_is_written() throws Exception {
        try (Database pool = TestDatabase.pool(TestDatabase.get().migrated("parley_import_behind"), 4);
             var threads = Executors.newCachedThreadPool()) { // the common pool has one thread on two cores
            Import imports = imports(pool, Import.RECENT);
            long app = Apps.forCommands(pool).create("behind-" + UUID.randomUUID()).appId();
            var setUp = List.of(Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna")),
                    Json.write(Map.of("type", "user", "external_id", "tg:1")),
                    Json.write(Map.of("type", "conversation", "external_id", "chat", "user", "tg:1", "character", "luna",
                            "created_at", "2025-03-01T10:00:00Z")));
            var made = setUp.iterator();
            imports.run(app, () -> made.hasNext() ? made.next() : null, read -> {
            });
            List<String> messages = new ArrayList<>();
            Instant first = Instant.parse("2025-03-01T10:00:01Z");
            for (int i = 0; i < Import.CHUNK + 10; i++) {
                messages.add(Json.write(Map.of("type", "message", "conversation", "chat", "external_id", "m" + i, "role", "user",
                        "content", "line " + i, "created_at", first.plusSeconds(i).toString())));
            }

            var locked = new CountDownLatch(1);
            var release = new CountDownLatch(1);
            var locker = CompletableFuture.runAsync(() -> pool.inTransaction(handle -> {
                try (var lock = handle.connection().createStatement()) {
                    lock.execute("SELECT 1 FROM conversations WHERE app_id = " + app + " AND external_id = 'chat' FOR UPDATE");
                }
                locked.countDown();
                try {
                    return release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }), threads);
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
            var secondChunkAsked = new CountDownLatch(1);
            var next = messages.iterator();
            var lineNumber = new AtomicInteger();
            var importing = CompletableFuture.supplyAsync(() -> {
                try {
                    return imports.run(app, () -> {
                        if (lineNumber.incrementAndGet() == Import.CHUNK + 1) {
                            secondChunkAsked.countDown();
                        }
                        return next.hasNext() ? next.next() : null;
                    }, read -> {
                    });
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, threads);
            boolean askedWhileLocked = secondChunkAsked.await(10, TimeUnit.SECONDS);
            release.countDown();
            locker.get(10, TimeUnit.SECONDS);
            Import.Report report = importing.get(60, TimeUnit.SECONDS);

            assertThat(askedWhileLocked).as("the second chunk's first line was read while the first chunk waited to be written")
                    .isTrue();
            assertThat(report.rejected()).isZero();
            assertThat(report.imported()).containsEntry("messages", (long) messages.size());
            List<String> stored = pool.read(handle -> handle.list(new Query("test.contents", """
                    SELECT m.content FROM messages m JOIN conversations c USING (app_id, conversation_id)
                     WHERE m.app_id = ? AND c.external_id = 'chat' ORDER BY m.seq"""), row -> row.getString(1), app));
            assertThat(stored).hasSize(messages.size()).startsWith("line 0", "line 1")
                    .endsWith("line " + (messages.size() - 1));
            assertThat(stored.get(Import.CHUNK)).isEqualTo("line " + Import.CHUNK);
        }
    }

    /**
     * A line's user is committed without waiting for its WAL to reach the disk (a flush per line made a file of people
     * wait on one flush each): right after each, the WAL written runs ahead of the WAL flushed. The report comes back
     * only once all it counts is flushed.
     */
    @Test
    void a_line_waits_for_no_flush_of_its_own_and_the_report_for_all_it_counts() throws Exception {
        try (Database pool = TestDatabase.pool(TestDatabase.get().migrated("parley_import_flushes"), 3)) {
            Import imports = imports(pool, Import.RECENT);
            long app = Apps.forCommands(pool).create("flushes-" + UUID.randomUUID()).appId();
            int users = 200;
            var number = new AtomicInteger();
            var unflushed = new AtomicInteger();
            var writtenAtTheEnd = new AtomicReference<String>();
            Query positions = new Query("test.wal_positions",
                    "SELECT pg_current_wal_flush_lsn() < pg_current_wal_insert_lsn(), pg_current_wal_insert_lsn()::text");
            Import.Report report = imports.run(app, () -> {
                int n = number.incrementAndGet();
                if (n > 1) { // the line before is committed
                    pool.read(handle -> handle.first(positions, row -> {
                        if (row.getBoolean(1)) {
                            unflushed.incrementAndGet();
                        }
                        writtenAtTheEnd.set(row.getString(2));
                        return null;
                    }));
                }
                return n <= users ? Json.write(Map.of("type", "user", "external_id", "u" + n)) : null;
            }, read -> {
            });

            assertThat(report.imported()).containsEntry("users", (long) users);
            assertThat(unflushed.get()).as("users whose WAL was not yet flushed when the next line was read, of " + users)
                    .isGreaterThan(users / 2);
            assertThat(pool.read(handle -> handle.first(new Query("test.flushed", "SELECT pg_current_wal_flush_lsn() >= ?::pg_lsn"),
                    row -> row.getBoolean(1), writtenAtTheEnd.get())).orElseThrow())
                    .as("everything the report counts is flushed when it comes back").isTrue();
        }
    }

    private static Import imports(Database pool, int recent) {
        Clock clock = Clock.systemUTC();
        return new Import(pool, new Ids(clock), new Partitions(pool), new Memories(pool, new Snippets()), Languages.load(pool),
                new Limits(64 * 1024, 16 * 1024), clock, recent);
    }

    private static Import.Report importing(List<String> lines, int recent, List<Long> progress) throws Exception {
        try (Database pool = TestDatabase.pool(TestDatabase.get().migrated("parley_import_chunks"), 2)) {
            Import imports = imports(pool, recent);
            long app = Apps.forCommands(pool).create("chunks-" + UUID.randomUUID()).appId();
            var next = lines.iterator();
            return imports.run(app, () -> next.hasNext() ? next.next() : null, progress::add);
        }
    }
}
