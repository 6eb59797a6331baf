package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.apps.Apps;
import dev.parley.chat.Limits;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.Snippets;
import dev.parley.support.TestDatabase;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
        Import.Report report;
        try (Database pool = TestDatabase.pool(TestDatabase.get().migrated("parley_import_chunks"), 2)) {
            Clock clock = Clock.systemUTC();
            var imports = new Import(pool, new Ids(clock), new Partitions(pool), new Memories(pool, new Snippets()),
                    Languages.load(pool), new Limits(64 * 1024, 16 * 1024), clock);
            long app = Apps.forCommands(pool).create("chunks").appId();
            var next = lines.iterator();
            report = imports.run(app, () -> next.hasNext() ? next.next() : null, progress::add);
        }

        assertThat(report.rejected()).isZero();
        assertThat(progress).as("lines read at each chunk's end, then at the end").hasSizeGreaterThanOrEqualTo(2);
        assertThat(progress.getFirst()).isLessThan(lines.size());
        assertThat(progress.getLast()).isEqualTo(lines.size());
    }
}
