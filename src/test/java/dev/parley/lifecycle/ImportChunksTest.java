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
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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
     * A line's user is committed without waiting for its WAL to reach the disk (a flush per line made a file of people
     * wait on one flush each): a trigger sees each line's transaction with {@code synchronous_commit} off, in a database
     * where it is on. The report comes back only once all it counts is flushed.
     */
    @Test
    void a_line_waits_for_no_flush_of_its_own_and_the_report_for_all_it_counts() throws Exception {
        String name = "parley_import_flushes";
        var target = TestDatabase.get().migrated(name);
        try (var sql = TestDatabase.get().connect(name); var statement = sql.createStatement()) {
            statement.execute("ALTER DATABASE " + name + " SET synchronous_commit = on"); // the tests' server runs with it off
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS seen_commits (setting text, written pg_lsn);
                    CREATE OR REPLACE FUNCTION see_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        INSERT INTO seen_commits VALUES (current_setting('synchronous_commit'), pg_current_wal_insert_lsn());
                        RETURN NULL;
                    END $$;
                    CREATE OR REPLACE TRIGGER users_seen AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION see_commit();
                    TRUNCATE seen_commits""");
        }
        int users = 200;
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= users; i++) {
            lines.add(Json.write(Map.of("type", "user", "external_id", "u" + i)));
        }
        try (Database pool = TestDatabase.pool(target, 3)) {
            Import imports = imports(pool, Import.RECENT);
            long app = Apps.forCommands(pool).create("flushes-" + UUID.randomUUID()).appId();
            var next = lines.iterator();

            Import.Report report = imports.run(app, () -> next.hasNext() ? next.next() : null, read -> {
            });
            boolean flushed = pool.read(handle -> handle.first(new Query("test.flushed",
                    "SELECT pg_current_wal_flush_lsn() >= max(written) FROM seen_commits"), row -> row.getBoolean(1))).orElseThrow();

            assertThat(report.imported()).containsEntry("users", (long) users);
            List<String> settings = pool.read(handle -> handle.list(new Query("test.settings", "SELECT setting FROM seen_commits"),
                    row -> row.getString(1)));
            assertThat(settings).as("synchronous_commit in each user's transaction").hasSize(users).containsOnly("off");
            assertThat(flushed).as("everything the report counts is flushed when it comes back").isTrue();
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
