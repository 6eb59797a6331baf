package dev.parley.bench;

import dev.parley.chat.Limits;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.WordIndexes;
import dev.parley.json.Json;
import dev.parley.lifecycle.Import;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.Snippets;
import java.io.PrintWriter;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Import against raw COPY, in one run, into the same tables with every index: the same generated
 * history (conversation after conversation, as exports list them, over the 60 days before now) is
 * written twice, into two new apps: once by COPY of finished message rows (ids, sequence numbers and
 * all, worked out beforehand: the floor no import can go below), once by {@link Import} from NDJSON
 * lines, as {@code POST /v1/import} and {@code parley import} run it. Each is timed alone. With
 * {@code bulk}, both send the words indexes' entries through their pending lists and merge them at
 * the end, within their time, as {@code parley import --bulk} and the bench loader do.
 */
final class ImportBench {
    record Result(long messages, double copyPerSecond, double importPerSecond) {
        double ratio() {
            return importPerSecond / copyPerSecond;
        }
    }

    private static final Query CREATE_APP = new Query("bench.create_app", "INSERT INTO apps (name) VALUES (?) RETURNING app_id");
    private static final NamedQuery CREATE_PEOPLE = NamedQuery.of("bench.import_people", """
            WITH c AS (INSERT INTO characters (app_id, name) VALUES (:app_id, 'Luna') RETURNING character_id),
                 u AS (INSERT INTO users (app_id, external_id) VALUES (:app_id, 'copy') RETURNING user_id)
            SELECT (SELECT character_id FROM c), (SELECT user_id FROM u)""");
    private static final NamedQuery CREATE_CONVERSATION = NamedQuery.of("bench.import_conversation", """
            INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id, created_at, last_activity_at,
                                       updated_at)
            VALUES (:app_id, :conversation_id, :user_id, :character_id, :conversation_id, parley_id_time(:conversation_id),
                    parley_id_time(:conversation_id), now())""");

    private final Database database;
    private final PrintWriter out;
    private final Clock clock;

    ImportBench(Database database, PrintWriter out, Clock clock) {
        this.database = database;
        this.out = out;
        this.clock = clock;
    }

    /** {@code bulk}: both ways with the words indexes' pending lists on, and merged within each one's time. */
    Result run(long messages, int conversations, Limits limits, boolean bulk) throws Exception {
        Instant start = clock.instant().minus(Duration.ofDays(60)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        new Partitions(database).ensure(YearMonth.from(start.atZone(ZoneOffset.UTC)), YearMonth.now(clock.withZone(ZoneOffset.UTC)));
        List<String[]> history = history(messages, conversations, start); // conversation index, role, content, time
        String stamp = Long.toString(System.currentTimeMillis(), 36);

        long copyApp = database.read(handle -> handle.first(CREATE_APP, row -> row.getLong(1), "bench-copy-" + stamp).orElseThrow());
        long[] people = database.read(handle -> handle.first(CREATE_PEOPLE.bind("app_id", copyApp),
                row -> new long[] {row.getLong(1), row.getLong(2)}).orElseThrow());
        long[] conversationIds = new long[conversations];
        database.read(handle -> {
            for (int c = 0; c < conversations; c++) {
                long id = Ids.floorOf(start.plusMillis(c));
                conversationIds[c] = id;
                handle.execute(CREATE_CONVERSATION.bind("app_id", copyApp).bind("conversation_id", id).bind("user_id", people[1])
                        .bind("character_id", people[0]));
            }
            return null;
        });
        long copyStarted = System.nanoTime();
        if (bulk) {
            WordIndexes.throughPendingLists(database, true);
        }
        database.read(handle -> {
            Connection connection = handle.connection();
            long[] seq = new long[conversations];
            try (var rows = new CopyRows(connection, "messages (app_id, conversation_id, message_id, seq, author_user_id, "
                    + "author_character_id, created_at, role, content, user_id, language)")) {
                for (int i = 0; i < history.size(); i++) {
                    String[] m = history.get(i);
                    int c = Integer.parseInt(m[0]);
                    long id = Ids.floorOf(Instant.parse(m[3])) | (i & 0x3FFFFF);
                    rows.add(copyApp).add(conversationIds[c]).add(id).add(++seq[c]);
                    if (m[1].equals("user")) {
                        rows.add(people[1]).addNull();
                    } else {
                        rows.addNull().add(people[0]);
                    }
                    rows.add(m[3]).add(m[1]).add(m[2]).add(people[1]).add("english");
                    rows.endRow();
                }
            }
            return null;
        });
        if (bulk) {
            WordIndexes.mergePendingLists(database);
            WordIndexes.throughPendingLists(database, false);
        }
        double copySeconds = (System.nanoTime() - copyStarted) / 1e9;
        out.printf("raw COPY of %d message rows: %.1f s, %.0f rows/s%n", history.size(), copySeconds, history.size() / copySeconds);

        long importApp = database.read(handle -> handle.first(CREATE_APP, row -> row.getLong(1), "bench-import-" + stamp).orElseThrow());
        List<String> lines = new ArrayList<>();
        lines.add(Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna")));
        lines.add(Json.write(Map.of("type", "user", "external_id", "u")));
        for (int c = 0; c < conversations; c++) {
            lines.add(Json.write(Map.of("type", "conversation", "external_id", "c" + c, "user", "u", "character", "luna",
                    "created_at", start.plusMillis(c).toString())));
        }
        for (int i = 0; i < history.size(); i++) {
            String[] m = history.get(i);
            lines.add(Json.write(Map.of("type", "message", "conversation", "c" + m[0], "external_id", "m" + i, "role", m[1],
                    "content", m[2], "created_at", m[3])));
        }
        var imports = new Import(database, new Ids(clock), new Partitions(database), new Memories(database, new Snippets()),
                Languages.load(database), limits, clock);
        Iterator<String> next = lines.iterator();
        var progress = new Progress(out, "importing", lines.size(), "lines");
        long importStarted = System.nanoTime();
        Import.Lines source = () -> next.hasNext() ? next.next() : null;
        Import.Report report = bulk ? imports.runBulk(importApp, source, progress::update) : imports.run(importApp, source, progress::update);
        double importSeconds = (System.nanoTime() - importStarted) / 1e9;
        progress.finish(lines.size());
        long imported = report.imported().get("messages");
        out.printf("import of %d lines (%d messages, %d rejected): %.1f s, %.0f messages/s%n", lines.size(), imported,
                report.rejected(), importSeconds, imported / importSeconds);
        if (report.rejected() > 0) { // the COPY wrote every row: the two rates would be of different work
            throw new IllegalStateException(String.format("the import rejected %d of its %d lines, so its rate is not comparable with "
                    + "the raw COPY's, which wrote them all: %s", report.rejected(), lines.size(),
                    String.join("; ", report.firstRejected().stream().limit(3).map(r -> "line " + r.line() + ": " + r.reason()).toList())));
        }
        return new Result(history.size(), history.size() / copySeconds, imported / importSeconds);
    }

    /**
     * Conversation after conversation, as an export lists them (and as an import wants them: each one's
     * messages oldest first), spread over the 59 days after {@code start}, user and assistant in turn,
     * text as the loader writes it. The messages are shared out evenly (the first {@code messages %
     * conversations} conversations take one more), so every one is dated within those 59 days: a last
     * conversation holding the remainder dated its later turns years ahead, which the import rejects.
     */
    static List<String[]> history(long messages, int conversations, Instant start) {
        var random = new SplittableRandom(42);
        List<String[]> history = new ArrayList<>((int) messages);
        long base = messages / conversations;
        long extra = messages % conversations;
        long most = Math.max(1, base + (extra > 0 ? 1 : 0));
        long window = 60L * 60 * 24 * 59;
        for (int conversation = 0; conversation < conversations; conversation++) {
            long count = base + (conversation < extra ? 1 : 0);
            for (long turn = 0; turn < count; turn++) {
                String role = turn % 2 == 0 ? "user" : "assistant";
                Instant at = start.plusSeconds(1 + turn * window / most);
                history.add(new String[] {Integer.toString(conversation), role, TextGenerator.message(random, role),
                        at.plusMillis(conversation).toString()});
            }
        }
        return history;
    }
}
