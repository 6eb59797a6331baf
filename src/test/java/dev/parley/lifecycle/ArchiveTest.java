package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.chat.BatchWriter;
import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.ArchiveCopies;
import dev.parley.support.Fixtures;
import dev.parley.support.Plans;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The archive on a clock stopped at 2027-06-15, whatever today is: a conversation began in January
 * 2027, so its first months move to the archive when months older than three are archived. History
 * paging back, a message's own id, search with include_archived, export and erasure all still reach
 * them; context and inbox do not need to.
 */
class ArchiveTest {
    private static final Instant NOW = Instant.parse("2027-06-15T12:00:00Z");
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final TestClock clock = at(NOW);
    private final String database = "parley_archive_" + DATABASES.incrementAndGet();
    private final Parley parley = TestServer.start(database, Map.of(), clock);
    private final Api api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("a").apiKey());
    private final String user = Fixtures.user(api, "ada");
    private final String character = Fixtures.character(api, "Luna");
    private final String chat = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
            "created_at", "2027-01-05T00:00:00Z")).get("id").asText();
    private final String path = "/v1/conversations/" + chat;

    @AfterEach
    void stop() {
        parley.close();
    }

    @Test
    void a_month_archived_under_appends_and_readers_loses_nothing_and_no_reader_sees_an_error_or_a_gap() throws Exception {
        importMonth("2027-01", 60, "january");
        importMonth("2027-02", 30, "february");
        for (int i = 0; i < 10; i++) {
            Fixtures.say(api, chat, "user", "june " + i);
        }
        List<String> failures = new CopyOnWriteArrayList<>();
        Map<Integer, Integer> walks = new ConcurrentHashMap<>();
        AtomicBoolean archived = new AtomicBoolean();
        AtomicInteger walksAfter = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(6);
        List<Future<?>> running = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            running.add(clients.submit(() -> {
                while (walksAfter.get() < 8) {
                    var appended = api.post(path + "/messages", Map.of("role", "user", "content", "meanwhile"));
                    if (appended.status() != 201) {
                        failures.add("append: " + appended);
                    }
                }
            }));
        }
        for (int r = 0; r < 4; r++) {
            running.add(clients.submit(() -> {
                while (walksAfter.get() < 8) {
                    boolean afterArchive = archived.get();
                    String gap = walkBack(failures);
                    if (gap != null) {
                        failures.add(gap);
                    }
                    walks.merge(afterArchive ? 1 : 0, 1, Integer::sum);
                    if (afterArchive) {
                        walksAfter.incrementAndGet();
                    }
                }
            }));
        }
        Thread.sleep(300);
        Archive.Moved moved;
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 4)) {
            moved = new Archive(pool, pool, new Partitions(pool), clock).archiveOlderThan(Period.ofMonths(3));
        }
        archived.set(true);
        for (Future<?> client : running) {
            client.get(60, TimeUnit.SECONDS);
        }
        clients.shutdown();

        assertThat(failures).isEmpty();
        assertThat(walks.get(0)).as("walks while the month moved").isPositive();
        assertThat(moved.months()).contains(Partitions.nameOf(YearMonth.of(2027, 1)), Partitions.nameOf(YearMonth.of(2027, 2)))
                .doesNotContain(Partitions.nameOf(YearMonth.of(2027, 3)));
        assertThat(moved.rows()).isEqualTo(90);
        assertThat(walkBack(failures)).isNull();
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.ARCHIVE)).isEqualTo(90);
            assertThat(count(sql, "SELECT count(*) FROM messages WHERE message_id < " + Partitions.floorOf(YearMonth.of(2027, 3))))
                    .isZero();
            assertThat(count(sql, "SELECT count(*) FROM pg_indexes WHERE schemaname = '" + Archive.SCHEMA + "'"))
                    .as("a primary key, a words index and one by character, the parent's and each month's")
                    .isEqualTo(3 * (1 + moved.months().size()));
            assertThat(count(sql, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + Archive.SCHEMA + "."
                    + Partitions.nameOf(YearMonth.of(2027, 1)) + "'::regclass AND attname = 'words'")).as("no stored words").isZero();
            assertThat(count(sql, "SELECT count(*) FROM partition_moves")).isZero();
            assertThat(count(sql, "SELECT count(*) FROM pg_stat_user_tables WHERE relid = '" + Partitions.ARCHIVE
                    + "'::regclass AND last_analyze IS NOT NULL")).as("the parent analysed, which autovacuum never does").isOne();
        }
    }

    @Test
    void archived_messages_are_read_by_id_searched_with_include_archived_exported_and_erased_but_not_changed() throws SQLException {
        importMonth("2027-01", 3, "the lighthouse in january");
        Fixtures.say(api, chat, "user", "the lighthouse in june");
        String januaryId = api.getOk(path + "/messages?limit=100").get("messages").get(0).get("id").asText();
        archive();

        JsonNode byId = api.getOk(path + "/messages/" + januaryId);
        var edited = api.patch(path + "/messages/" + januaryId, Map.of("content", "changed"));
        var deleted = api.delete(path + "/messages/" + januaryId);
        JsonNode hot = api.getOk("/v1/search/messages?q=lighthouse&user_id=" + user);
        JsonNode all = api.getOk("/v1/search/messages?q=lighthouse&user_id=" + user + "&include_archived=true");
        JsonNode recent = api.getOk("/v1/search/messages?q=lighthouse&conversation_id=" + chat
                + "&include_archived=true&order=recent&limit=2");
        JsonNode app = api.getOk("/v1/search/messages?q=lighthouse&include_archived=true");
        var badFlag = api.get("/v1/search/messages?q=lighthouse&include_archived=maybe");
        JsonNode export = api.getOk("/v1/users/" + user + "/export");
        JsonNode stats = api.getOk("/v1/stats");
        String lateChat = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", "2027-01-02T00:00:00Z")).get("id").asText();
        JsonNode imported = api.post("/v1/conversations/" + lateChat + "/messages", Map.of("role", "user", "content", "late",
                "created_at", "2027-01-20T00:00:00Z")).json();

        assertThat(byId.get("content").asText()).isEqualTo("the lighthouse in january 0");
        assertThat(edited.status()).isEqualTo(409);
        assertThat(edited.json().get("type").asText()).endsWith("message-archived");
        assertThat(deleted.status()).isEqualTo(409);
        assertThat(hot.get("hits").findValuesAsText("snippet")).hasSize(1);
        assertThat(all.get("hits")).hasSize(4);
        assertThat(all.get("hits").get(0).get("snippet").asText()).contains("<mark>");
        assertThat(recent.get("hits").findValuesAsText("message_id")).hasSize(2);
        assertThat(recent.get("hits").get(0).get("snippet").asText()).contains("june");
        assertThat(recent.get("hits").get(1).get("snippet").asText()).contains("january");
        assertThat(app.get("hits")).hasSize(4);
        assertThat(badFlag.status()).isEqualTo(400);
        assertThat(export.get("conversations").get(0).get("messages")).hasSize(4);
        assertThat(stats.get("months").findValuesAsText("store")).contains("archive", "hot");
        assertThat(imported.get("type").asText()).endsWith("month-archived");

        var erased = api.delete("/v1/users/" + user);
        assertThat(erased.json().get("rows").get("messages").asLong()).isEqualTo(4);
        assertThat(erased.json().get("rows").get("conversations").asLong()).isEqualTo(2);
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.ARCHIVE)).isZero();
        }
    }

    @Test
    void an_archived_message_is_read_up_to_replied_to_lists_its_replies_and_replays_its_append() {
        Map<String, Object> first = Map.of("role", "user", "content", "remember the lighthouse?", "created_at", "2027-01-10T00:00:00Z");
        String root = api.postOk(201, path + "/messages", first, "Idempotency-Key", "legacy-42").get("id").asText();
        String archivedReply = api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", "I do.",
                "reply_to_id", root, "created_at", "2027-01-10T00:01:00Z")).get("id").asText();
        archive();

        var retry = api.post(path + "/messages", first, "Idempotency-Key", "legacy-42");
        assertThat(retry.status()).as(retry.toString()).isEqualTo(200);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retry.json().get("id").asText()).isEqualTo(root);

        var hotReply = api.post(path + "/messages", Map.of("role", "assistant", "content", "Still do.", "reply_to_id", root));
        JsonNode firstPage = api.getOk(path + "/messages/" + root + "/replies?limit=1");
        JsonNode secondPage = api.getOk(path + "/messages/" + root + "/replies?limit=1&cursor="
                + firstPage.get("next_cursor").asText());
        var read = api.post(path + "/read", Map.of("message_id", archivedReply));

        assertThat(hotReply.status()).as(hotReply.toString()).isEqualTo(201);
        assertThat(firstPage.get("messages").findValuesAsText("id")).containsExactly(archivedReply);
        assertThat(secondPage.get("messages").findValuesAsText("id")).containsExactly(hotReply.json().get("id").asText());
        assertThat(read.status()).as(read.toString()).isEqualTo(200);
        assertThat(read.json().get("unread_count").asLong()).as("the hot reply").isOne();
    }

    /**
     * An append's lookups of a reply's parent and of a retried key's message ask the archive only when the hot months lack
     * the message: with a month archived, their plans for a hot message never run the archive's scans.
     */
    @Test
    void an_appends_lookups_of_a_hot_parent_or_replay_never_read_the_archive() throws SQLException {
        importMonth("2027-01", 2, "january");
        archive();
        String hot = api.postOk(201, path + "/messages", Map.of("role", "user", "content", "june"), "Idempotency-Key", "june-1")
                .get("id").asText();
        try (Connection sql = TestDatabase.get().connect(database)) {
            long app = count(sql, "SELECT app_id FROM conversations WHERE conversation_id = " + chat);
            var plans = new Plans(sql);
            var apps = sql.createArrayOf("bigint", new Long[] {app});
            var conversations = sql.createArrayOf("bigint", new Long[] {Long.parseLong(chat)});
            String parents = plans.explainGenericVerbose(BatchWriter.FIND_PARENTS, apps, conversations,
                    sql.createArrayOf("bigint", new Long[] {Long.parseLong(hot)}));
            String replays = plans.explainGenericVerbose(BatchWriter.FIND_REPLAYS, apps, conversations,
                    sql.createArrayOf("text", new String[] {"june-1"}));
            for (String plan : List.of(parents, replays)) {
                assertThat(plan.lines().filter(line -> line.contains(" on parley_archive.")).toList()).as(plan)
                        .isNotEmpty().allMatch(line -> line.contains("never executed"));
            }
        }
    }

    @Test
    void after_an_archive_a_message_older_than_every_month_is_taken_and_one_in_an_archived_month_is_not() {
        importMonth("2027-01", 2, "january");
        archive();
        String older = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "created_at", "2026-05-01T00:00:00Z")).get("id").asText();

        var lastMay = api.post("/v1/conversations/" + older + "/messages", Map.of("role", "user", "content", "from last May",
                "created_at", "2026-05-20T00:00:00Z"));
        var january = api.post("/v1/conversations/" + older + "/messages", Map.of("role", "user", "content", "january again",
                "created_at", "2027-01-20T00:00:00Z"));

        assertThat(lastMay.status()).as(lastMay.toString()).isEqualTo(201);
        assertThat(january.status()).isEqualTo(409);
        assertThat(api.getOk("/v1/conversations/" + older + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("from last May");
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            var partitions = new Partitions(pool); // a fresh look, as every instance takes within a minute
            assertThat(partitions.archived(Instant.parse("2025-12-31T00:00:00Z"))).as("older than every month").isFalse();
            assertThat(partitions.archived(Instant.parse("2027-01-20T00:00:00Z"))).as("archived").isTrue();
            assertThat(partitions.archived(NOW)).isFalse();
        }
    }

    @Test
    void a_write_while_a_month_is_copied_is_told_to_retry_and_a_move_a_crash_cut_short_is_finished() throws SQLException {
        importMonth("2027-01", 2, "january");
        String januaryId = api.getOk(path + "/messages").get("messages").get(0).get("id").asText();
        String january = Partitions.nameOf(YearMonth.of(2027, 1));
        try (Connection sql = TestDatabase.get().connect(database)) { // as a move does, up to a crash after its first step
            sql.createStatement().execute("INSERT INTO partition_moves (partition_name, destination) VALUES ('" + january
                    + "', '" + Archive.SCHEMA + "')");
            sql.createStatement().execute("CREATE TRIGGER parley_archiving BEFORE INSERT OR UPDATE OR DELETE ON " + january
                    + " FOR EACH ROW EXECUTE FUNCTION parley_refuse_writes_while_archiving()");
        }

        var refused = api.patch(path + "/messages/" + januaryId, Map.of("content", "changed"));
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.header("Retry-After")).isEqualTo("5");
        assertThat(refused.json().get("type").asText()).endsWith("month-archiving");
        String importing = String.join("\n", Json.write(Map.of("type", "user", "external_id", "archiving-u")),
                Json.write(Map.of("type", "character", "external_id", "archiving-ch", "name", "Luna")),
                Json.write(Map.of("type", "conversation", "external_id", "archiving-c", "user", "archiving-u", "character",
                        "archiving-ch", "created_at", "2027-01-01T00:00:00Z")),
                Json.write(Map.of("type", "message", "conversation", "archiving-c", "external_id", "m1", "role", "user",
                        "content", "x", "created_at", "2027-01-11T00:00:00Z"))) + "\n";
        var imported = api.sendBytes("POST", "/v1/import", importing.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "Content-Type", "application/x-ndjson");
        assertThat(imported.json().get("first_rejected").get(0).get("reason").asText()).as("named as the month's move, not in SQL")
                .isEqualTo("created_at falls in a month being moved into the archive, which takes no new messages: "
                        + "archived months are read-only");

        var listed = dev.parley.support.Cli.parley("partitions", "--database-url", TestDatabase.get().url(database));
        assertThat(listed.status()).as("something to finish").isEqualTo(1);
        assertThat(listed.out()).contains("The move of " + january + " into the archive was cut short: its writes are refused");

        List<String> finished;
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            finished = new Archive(pool, pool, new Partitions(pool), clock).finishMoves();
        }
        assertThat(finished).containsExactly(january);
        assertThat(api.patch(path + "/messages/" + januaryId, Map.of("content", "changed")).status()).isEqualTo(409);
        assertThat(api.getOk(path + "/messages").get("messages").findValuesAsText("content")).containsExactly("january 0", "january 1");
    }

    @Test
    void a_move_a_crash_cut_short_after_the_copy_is_finished_without_copying_again() throws SQLException {
        importMonth("2027-01", 2, "january");
        String january = Partitions.nameOf(YearMonth.of(2027, 1));
        januaryMovedUpToItsCopy(); // and a crash then

        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) { // a command's pool
            new Archive(pool, pool, new Partitions(pool), clock).finishMoves();
        }

        assertThat(api.getOk(path + "/messages").get("messages").findValuesAsText("content")).containsExactly("january 0", "january 1");
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.ARCHIVE)).isEqualTo(2);
            assertThat(count(sql, "SELECT count(*) FROM pg_class WHERE relname = '" + january + "' AND relnamespace = "
                    + "current_schema()::regnamespace")).as("the hot month is gone").isZero();
            assertThat(count(sql, "SELECT count(*) FROM partition_moves")).isZero();
        }
    }

    @Test
    void analytics_count_an_archived_month_once_while_it_moves_and_after() throws SQLException {
        importMonth("2027-01", 3, "january");
        api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", "a reply in january",
                "created_at", "2027-01-10T01:00:00Z"));
        String expected = "2027-01-10: 1 user, 1 by the character; 1 user in 2027-01; assistant=1, user=3";
        assertThat(analyticsOfJanuary()).as("hot").isEqualTo(expected);

        januaryMovedUpToItsCopy();
        assertThat(analyticsOfJanuary()).as("in the hot set and the archive at once").isEqualTo(expected);

        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            new Archive(pool, pool, new Partitions(pool), clock).finishMoves();
        }
        assertThat(analyticsOfJanuary()).as("archived").isEqualTo(expected);
    }

    @Test
    void a_refresh_counts_an_archived_month_once_and_again_after_an_erasure_changed_it() throws SQLException {
        importMonth("2027-01", 3, "january");
        api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", "a reply in january",
                "created_at", "2027-01-10T01:00:00Z"));
        String bob = Fixtures.user(api, "bob");
        String bobs = api.postOk(201, "/v1/conversations", Map.of("user_id", bob, "character_id", character,
                "created_at", "2027-01-05T00:00:00Z")).get("id").asText();
        api.postOk(201, "/v1/conversations/" + bobs + "/messages", Map.of("role", "user", "content", "bob in january",
                "created_at", "2027-01-10T02:00:00Z"));
        archive();

        assertThat(analyticsOfJanuary()).isEqualTo("2027-01-10: 2 user, 1 by the character; 2 user in 2027-01; assistant=1, user=3");
        String january = "'" + Partitions.nameOf(YearMonth.of(2027, 1)) + "'";
        try (Connection sql = TestDatabase.get().connect(database); var s = sql.createStatement()) {
            assertThat(count(sql, "SELECT count(*) FROM analytics_archived_partitions WHERE counted AND month_name = " + january))
                    .isOne();
            assertThat(count(sql, "SELECT count(*) FROM parley_uncounted_archived_messages()"))
                    .as("archived rows a refresh reads one by one").isZero();
            // Only what was counted can give this figure: the refresh below adds January's counts, not its rows.
            s.execute("UPDATE analytics_archived_conversation_roles SET messages = messages + 100 WHERE role = 'user'");
        }
        assertThat(analyticsOfJanuary()).endsWith("user=103");

        assertThat(api.delete("/v1/users/" + bob).status()).isEqualTo(200);
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM analytics_archived_months WHERE changed AND month_name = " + january))
                    .as("the erasure marked January changed").isOne();
        }
        assertThat(analyticsOfJanuary()).as("counted again, without bob")
                .isEqualTo("2027-01-10: 1 user, 1 by the character; 1 user in 2027-01; assistant=1, user=3");

        parley.apps().delete("a");
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT (SELECT count(*) FROM analytics_archived_character_days)"
                    + " + (SELECT count(*) FROM analytics_archived_active_days) + (SELECT count(*) FROM analytics_archived_active_months)"
                    + " + (SELECT count(*) FROM analytics_archived_conversation_roles)")).as("the app's counts went with it").isZero();
        }
    }

    @Test
    void an_archived_month_is_counted_after_a_delete_under_way_in_it_commits() throws Exception {
        importMonth("2027-01", 3, "january");
        archive();
        ExecutorService refresher = Executors.newSingleThreadExecutor();
        try (Connection deleting = TestDatabase.get().connect(database)) {
            deleting.setAutoCommit(false);
            deleting.createStatement().execute("DELETE FROM " + Partitions.ARCHIVE + " WHERE content = 'january 0'");
            Future<String> counted = refresher.submit(this::analyticsOfJanuary);
            assertThatThrownBy(() -> counted.get(500, TimeUnit.MILLISECONDS)).as("the count waits for the delete")
                    .isInstanceOf(TimeoutException.class);
            deleting.commit();
            assertThat(counted.get(30, TimeUnit.SECONDS)).isEqualTo("2027-01-10: 1 user; 1 user in 2027-01; user=2");
        } finally {
            refresher.shutdownNow();
        }
    }

    /** January as a move leaves it after its copy: written down, refusing writes, and in the hot set and the archive at once. */
    private void januaryMovedUpToItsCopy() throws SQLException {
        String january = Partitions.nameOf(YearMonth.of(2027, 1));
        try (Connection sql = TestDatabase.get().connect(database); var s = sql.createStatement()) {
            s.execute("INSERT INTO partition_moves (partition_name, destination) VALUES ('" + january + "', '" + Archive.SCHEMA + "')");
            s.execute("CREATE TRIGGER parley_archiving BEFORE INSERT OR UPDATE OR DELETE ON " + january
                    + " FOR EACH ROW EXECUTE FUNCTION parley_refuse_writes_while_archiving()");
            ArchiveCopies.copyIntoArchive(s, YearMonth.of(2027, 1));
        }
    }

    /** January's figures from every analytics route, after a refresh. */
    private String analyticsOfJanuary() {
        api.postOk(200, "/v1/analytics/refresh", null);
        String range = "?from=2027-01-01&to=2027-01-31";
        List<String> days = new ArrayList<>();
        JsonNode active = api.getOk("/v1/analytics/users/daily-active" + range).get("periods");
        JsonNode written = api.getOk("/v1/analytics/characters/messages" + range + "&character_id=" + character).get("days");
        for (int i = 0; i < Math.max(active.size(), written.size()); i++) {
            days.add((i < active.size() ? active.get(i).get("day").asText() + ": " + active.get(i).get("users").asLong() + " user" : "")
                    + (i < written.size() ? ", " + written.get(i).get("messages").asLong() + " by the character" : ""));
        }
        JsonNode monthly = api.getOk("/v1/analytics/users/monthly-active" + range).get("periods");
        for (JsonNode month : monthly) {
            days.add(month.get("users").asLong() + " user in " + month.get("day").asText().substring(0, 7));
        }
        List<String> roles = new ArrayList<>();
        api.getOk("/v1/analytics/conversations/" + chat + "/roles").get("roles")
                .forEach(role -> roles.add(role.get("role").asText() + "=" + role.get("messages").asLong()));
        days.add(String.join(", ", roles));
        return String.join("; ", days);
    }

    @Test
    void a_characters_messages_page_back_into_the_archive_each_once_while_a_month_moves() throws SQLException {
        List<String> written = new ArrayList<>();
        for (String day : List.of("2027-01-10", "2027-01-20", "2027-02-10", "2027-06-01", "2027-06-02")) {
            String content = "Luna on " + day;
            api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", content, "created_at", day + "T00:00:00Z"));
            api.postOk(201, path + "/messages", Map.of("role", "user", "content", "ada on " + day, "created_at", day + "T00:01:00Z"));
            written.addFirst(content);
        }

        januaryMovedUpToItsCopy();
        assertThat(charactersMessagesPagedBack(2)).as("January in the hot set and the archive at once").isEqualTo(written);
        archive(); // January's move finished, February's made
        assertThat(charactersMessagesPagedBack(2)).as("archived").isEqualTo(written);
        assertThat(charactersMessagesPagedBack(10)).isEqualTo(written);
    }

    /** The character's messages, page by page back to its first. */
    private List<String> charactersMessagesPagedBack(int limit) {
        List<String> paged = new ArrayList<>();
        String first = "/v1/characters/" + character + "/messages?limit=" + limit;
        String page = first;
        while (page != null) {
            JsonNode body = api.getOk(page);
            body.get("messages").forEach(message -> paged.add(message.get("content").asText()));
            page = body.get("next_cursor").isNull() ? null : first + "&cursor=" + body.get("next_cursor").asText();
        }
        return paged;
    }

    @Test
    void retention_drops_archived_months_every_app_lets_go_and_deletes_the_rest_of_the_archive_in_batches() throws SQLException {
        importMonth("2027-01", 3, "january");
        importMonth("2027-02", 2, "february");
        Fixtures.say(api, chat, "user", "june");
        Api other = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("b").apiKey());
        String othersChat = other.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(other, "bo"),
                "character_id", Fixtures.character(other, "Sol"), "created_at", "2027-02-01T00:00:00Z")).get("id").asText();
        other.postOk(201, "/v1/conversations/" + othersChat + "/messages", Map.of("role", "user", "content", "kept for ever",
                "created_at", "2027-02-02T00:00:00Z"));
        archive();
        api.postOk(200, "/v1/analytics/refresh", null); // counts the archived January and February
        assertThat(api.put("/v1/retention", Map.of("message_days", 30)).status()).isEqualTo(200);

        Retention.Applied applied = parley.retention().apply();

        assertThat(applied.partitionsDropped()).contains(Partitions.nameOf(YearMonth.of(2027, 1)))
                .doesNotContain(Partitions.nameOf(YearMonth.of(2027, 2)));
        assertThat(applied.rowsDropped()).isEqualTo(3);
        assertThat(applied.rowsDeleted()).isEqualTo(2);
        assertThat(api.getOk(path + "/messages").get("messages").findValuesAsText("content")).containsExactly("june");
        assertThat(api.getOk(path).get("message_count").asLong()).isEqualTo(1);
        assertThat(other.getOk("/v1/conversations/" + othersChat + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("kept for ever");
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM " + Partitions.ARCHIVE)).isEqualTo(1);
        }
        assertThat(analyticsOfJanuary()).as("January dropped, February's rows of this app deleted: neither counted").isEqualTo("user=1");
        try (Connection sql = TestDatabase.get().connect(database)) {
            assertThat(count(sql, "SELECT count(*) FROM analytics_archived_months WHERE month_name = '"
                    + Partitions.nameOf(YearMonth.of(2027, 1)) + "'")).as("the dropped month's counts forgotten").isZero();
        }
    }

    @Test
    void filtered_history_pages_back_and_forward_into_the_archive_taking_a_month_being_moved_once() throws SQLException {
        List<String> replies = new ArrayList<>();
        for (String day : List.of("2027-01-10", "2027-01-20", "2027-02-10", "2027-06-01", "2027-06-02")) {
            api.postOk(201, path + "/messages", Map.of("role", "user", "content", "ada on " + day, "created_at", day + "T00:00:00Z"));
            api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", "Luna on " + day,
                    "metadata", Map.of("type", day.startsWith("2027-06") ? "text" : "image"), "created_at", day + "T00:01:00Z"));
            replies.add("Luna on " + day);
        }
        List<String> images = replies.subList(0, 3);

        for (String state : List.of("hot", "moving", "archived")) {
            if (state.equals("moving")) {
                januaryMovedUpToItsCopy();
            } else if (state.equals("archived")) {
                archive(); // January's move finished, February's made
            }
            for (int limit : new int[] {2, 10}) {
                assertThat(filteredPagedBack("role=assistant", limit)).as(state + ", back by " + limit).isEqualTo(replies);
                assertThat(filteredPagedForward("role=assistant", limit)).as(state + ", forward by " + limit).isEqualTo(replies);
                assertThat(filteredPagedBack("metadata=%7B%22type%22%3A%22image%22%7D", limit)).as(state).isEqualTo(images);
                assertThat(filteredPagedForward("metadata=%7B%22type%22%3A%22image%22%7D", limit)).as(state).isEqualTo(images);
            }
            JsonNode january = api.getOk(path + "/messages?role=assistant&created_before=2027-02-01T00:00:00Z");
            assertThat(january.get("messages").findValuesAsText("content")).as(state)
                    .containsExactly("Luna on 2027-01-10", "Luna on 2027-01-20");
            assertThat(january.get("has_older").asBoolean()).isFalse();
        }
    }

    @Test
    void a_filtered_page_asks_the_archive_only_when_the_hot_months_held_too_few_and_its_range_reaches_an_ended_month() {
        importMonth("2027-01", 3, "january");
        for (int i = 0; i < 3; i++) {
            Fixtures.say(api, chat, "user", "june " + i);
        }
        archive();
        String junes = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character)).get("id").asText();
        Fixtures.say(api, junes, "user", "hello");
        String archived = "message.history_filtered_archived";

        assertThat(TestServer.statementsRunBy(api, () -> api.getOk(path + "/messages?role=user&limit=2"))).as("a full page, and one more")
                .doesNotContainKey(archived);
        assertThat(TestServer.statementsRunBy(api, () -> api.getOk(path + "/messages?role=user&created_after=2027-06-01T00:00:00Z")))
                .as("a range within this month").doesNotContainKey(archived);
        assertThat(TestServer.statementsRunBy(api, () -> api.getOk("/v1/conversations/" + junes + "/messages?role=assistant")))
                .as("a conversation of this month").doesNotContainKey(archived);
        JsonNode[] all = new JsonNode[1];
        assertThat(TestServer.statementsRunBy(api, () -> all[0] = api.getOk(path + "/messages?role=user&limit=10")))
                .containsEntry(archived, 1.0);
        assertThat(all[0].get("messages").findValuesAsText("content"))
                .containsExactly("january 0", "january 1", "january 2", "june 0", "june 1", "june 2");
    }

    /** The filtered history, page by page back from the latest, oldest first; checks that only the last page says nothing is older. */
    private List<String> filteredPagedBack(String filter, int limit) {
        List<String> paged = new ArrayList<>();
        String first = path + "/messages?" + filter + "&limit=" + limit;
        JsonNode body = api.getOk(first);
        while (true) {
            List<String> page = body.get("messages").findValuesAsText("content");
            paged.addAll(0, page);
            assertThat(page).as("a page that says more are older is full").hasSize(body.get("has_older").asBoolean() ? limit : page.size());
            if (!body.get("has_older").asBoolean()) {
                return paged;
            }
            body = api.getOk(first + "&before=" + body.get("older_cursor").asText());
        }
    }

    /** The filtered history from the oldest match's page forward to the newest, through after= cursors. */
    private List<String> filteredPagedForward(String filter, int limit) {
        String first = path + "/messages?" + filter + "&limit=" + limit;
        JsonNode body = api.getOk(first + "&created_before=2027-01-10T00:02:00Z"); // the page of the first match alone
        List<String> paged = new ArrayList<>(body.get("messages").findValuesAsText("content"));
        assertThat(body.get("has_older").asBoolean()).isFalse();
        while (true) {
            body = api.getOk(first + "&after=" + body.get("newer_cursor").asText());
            paged.addAll(body.get("messages").findValuesAsText("content"));
            assertThat(body.get("has_older").asBoolean()).as("a page after the first match has it before").isTrue();
            if (!body.get("has_newer").asBoolean()) {
                return paged;
            }
        }
    }

    @Test
    void conversation_stats_count_archived_messages_by_role_and_type_once_while_a_month_moves_and_after() throws SQLException {
        importMonth("2027-01", 3, "january");
        api.postOk(201, path + "/messages", Map.of("role", "assistant", "content", "a reply in january",
                "metadata", Map.of("type", "text"), "created_at", "2027-01-10T01:00:00Z"));
        importMonth("2027-02", 2, "february");
        Fixtures.say(api, chat, "user", "june");
        String expected = "message_count=7 by_role={\"assistant\":1,\"user\":6} by_type={\"none\":6,\"text\":1}";
        assertThat(stats()).as("hot").isEqualTo(expected);

        januaryMovedUpToItsCopy();
        assertThat(stats()).as("in the hot set and the archive at once").isEqualTo(expected);
        archive();
        assertThat(stats()).as("archived").isEqualTo(expected);
    }

    private String stats() {
        JsonNode stats = api.getOk(path + "/stats");
        return "message_count=" + stats.get("message_count") + " by_role=" + stats.get("by_role") + " by_type=" + stats.get("by_type");
    }

    /** Pages from the newest message back to the first, 20 at a time; a description of what went wrong, or null. */
    private String walkBack(List<String> failures) {
        List<Long> seqs = new ArrayList<>();
        String page = path + "/messages?limit=20";
        long newest = -1;
        while (page != null) {
            var response = api.get(page);
            if (response.status() != 200) {
                failures.add("history: " + response);
                return null;
            }
            JsonNode body = response.json();
            List<Long> pageSeqs = new ArrayList<>();
            body.get("messages").forEach(m -> pageSeqs.add(m.get("seq").asLong()));
            if (newest < 0 && !pageSeqs.isEmpty()) {
                newest = pageSeqs.getLast();
            }
            seqs.addAll(0, pageSeqs);
            page = body.get("has_older").asBoolean() ? path + "/messages?limit=20&before=" + body.get("older_cursor").asText() : null;
        }
        for (int i = 0; i < seqs.size(); i++) {
            if (seqs.get(i) != i + 1) {
                return "a walk back from seq " + newest + " found seq " + seqs.get(i) + " where " + (i + 1) + " belongs";
            }
        }
        return seqs.size() == newest ? null : "a walk back from seq " + newest + " found " + seqs.size() + " messages";
    }

    /**
     * An import run again after its months were archived (daily maintenance may archive between two runs): its
     * messages there are found in the archive and counted as existing, over HTTP (whose instance may not have seen
     * the archive yet) and as `parley import` runs it (a fresh look at the months); a new line there is rejected.
     */
    @Test
    void an_import_run_again_after_its_months_were_archived_counts_them_as_existing_and_rejects_only_new_ones() {
        List<String> lines = new ArrayList<>(List.of(
                Json.write(Map.of("type", "character", "external_id", "luna", "name", "Luna")),
                Json.write(Map.of("type", "user", "external_id", "tg:1")),
                Json.write(Map.of("type", "conversation", "external_id", "chat-1", "user", "tg:1", "character", "luna",
                        "created_at", "2027-01-02T00:00:00Z")),
                Json.write(Map.of("type", "conversation", "external_id", "chat-2", "user", "tg:1", "character", "luna",
                        "created_at", "2027-01-02T00:00:00Z"))));
        String[] months = {"2027-01", "2027-02", "2027-03"}; // January and February are archived, March stays hot
        for (int i = 0; i < 60; i++) {
            lines.add(Json.write(Map.of("type", "message", "conversation", "chat-1", "external_id", "m" + i,
                    "role", i % 2 == 0 ? "user" : "assistant", "content", "imported " + i,
                    "created_at", months[i / 20] + "-10T00:%02d:00Z".formatted(i % 20))));
        }
        JsonNode first = importing(lines);
        String imported = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        String before = api.getOk("/v1/conversations/" + imported + "/messages?limit=100").toString();
        archive();
        String newLine = Json.write(Map.of("type", "message", "conversation", "chat-2", "external_id", "late",
                "role", "user", "content", "new in February", "created_at", "2027-02-11T00:00:00Z"));
        lines.add(newLine);

        JsonNode again = importing(lines);
        Import.Report command;
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            var imports = new Import(pool, new dev.parley.db.Ids(clock), new Partitions(pool),
                    new dev.parley.memory.Memories(pool, new dev.parley.search.Snippets()), dev.parley.search.Languages.load(pool),
                    new dev.parley.chat.Limits(64 * 1024, 16 * 1024), clock);
            var next = lines.iterator();
            command = imports.run(dev.parley.apps.Apps.idOf(pool, "a"), () -> next.hasNext() ? next.next() : null, read -> { });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }

        assertThat(first.get("imported").get("messages").asLong()).isEqualTo(60);
        assertThat(first.get("rejected").asLong()).isZero();
        for (JsonNode report : List.of(again, Json.MAPPER.valueToTree(command))) {
            assertThat(report.get("existing").get("messages").asLong()).as(report.toString()).isEqualTo(60);
            assertThat(report.get("imported").get("messages").asLong()).isZero();
            assertThat(report.get("rejected").asLong()).isEqualTo(1);
            JsonNode rejected = report.has("first_rejected") ? report.get("first_rejected") : report.get("firstRejected");
            assertThat(rejected.get(0).get("line").asLong()).isEqualTo(lines.size());
            assertThat(rejected.get(0).get("reason").asText()).contains("2027-02-11T00:00:00Z falls in an archived month");
        }
        assertThat(api.getOk("/v1/conversations/" + imported + "/messages?limit=100").toString()).isEqualTo(before);
        assertThat(api.getOk("/v1/conversations/" + imported).get("message_count").asLong()).isEqualTo(60);
    }

    private JsonNode importing(List<String> lines) {
        var response = api.sendBytes("POST", "/v1/import", (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/x-ndjson");
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.json();
    }

    private void importMonth(String month, int count, String content) {
        List<Map<String, Object>> messages = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            messages.add(Map.of("role", "user", "content", content + " " + i,
                    "created_at", month + "-10T00:%02d:%02dZ".formatted(i / 60, i % 60)));
        }
        api.postOk(201, path + "/messages/batch", Map.of("messages", messages));
    }

    private void archive() {
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 2)) {
            new Archive(pool, pool, new Partitions(pool), clock).archiveOlderThan(Period.ofMonths(3));
        }
    }

    private static TestClock at(Instant instant) {
        var clock = new TestClock();
        clock.advance(Duration.between(Instant.now(), instant));
        return clock;
    }

    private static long count(Connection sql, String query) throws SQLException {
        var rows = sql.createStatement().executeQuery(query);
        rows.next();
        return rows.getLong(1);
    }
}
