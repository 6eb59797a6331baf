package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestRedis;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link TwoInstancesTest} with the two instances sharing a Redis (every test there runs here too), and
 * what Redis adds: a view one instance read from PostgreSQL, the other serves from Redis without a
 * database read, with the very same bytes and ETag, even for stored data no client could send.
 */
class TwoInstancesWithRedisTest extends TwoInstancesTest {
    private final String prefix = TestRedis.newPrefix();

    @Override
    String database() {
        return "parley_two_instances_redis";
    }

    @Override
    Map<String, String> env() {
        // Writes wait to commit on an advisory lock the test holds while it looks at Redis: no lock budget cuts them short.
        var env = new java.util.HashMap<>(TestRedis.get().env(prefix));
        env.putAll(Map.of("PARLEY_STATEMENT_TIMEOUT", "1m", "PARLEY_LOCK_TIMEOUT", "1m"));
        return env;
    }

    @AfterAll
    void forget() {
        TestRedis.get().forget(prefix);
    }

    @Test
    void a_view_one_instance_loaded_is_served_by_the_other_from_redis_with_the_same_bytes_and_etag() throws SQLException {
        String character = Fixtures.character(viaFirst, "Luna");
        String user = Fixtures.user(viaFirst, "shared-" + System.nanoTime());
        String conversation = Fixtures.conversation(viaFirst, user, character);
        Fixtures.say(viaFirst, conversation, "user", "Hello, \"Luna\" \u00e9\u263a");
        List<String> views = List.of("/v1/characters/" + character, "/v1/users/" + user, "/v1/conversations/" + conversation,
                "/v1/conversations/" + conversation + "/messages", "/v1/users/" + user + "/inbox");
        heardSoFar();

        sameOnBoth(views);
    }

    @Test
    void stored_data_no_client_could_send_reads_back_from_redis_unchanged() throws SQLException {
        var samples = new ApiSamples(viaFirst);
        try (Connection sql = TestDatabase.get().connect(database())) {
            StoredDataTest.poison(sql, StoredDataTest.appOf(sql, viaFirst));
        }
        String user = samples.ids.get("user_id");
        String conversation = samples.ids.get("conversation_id");
        List<String> views = List.of("/v1/characters/" + samples.ids.get("character_id"), "/v1/users/" + user,
                "/v1/conversations/" + conversation, "/v1/conversations/" + conversation + "/messages",
                "/v1/users/" + user + "/inbox");
        restart(); // nothing read before the rows were planted is left in memory or (a new epoch) in Redis

        sameOnBoth(views);
        assertThat(viaSecond.get(views.get(3)).text()).contains(StoredDataTest.ALL_PLANES).contains("[".repeat(5000));
    }

    @Test
    void every_write_marks_its_views_in_redis_until_it_has_committed() throws Exception {
        var created = first.apps().create("held-" + System.nanoTime());
        var api = new Api("http://127.0.0.1:" + first.port(), created.apiKey());
        long app = created.app().id();
        String character = Fixtures.character(api, "Luna");
        String unused = Fixtures.character(api, "Orion");
        String user = Fixtures.user(api, "held-" + System.nanoTime());
        String guest = Fixtures.user(api, "guest-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, character);
        String said = Fixtures.say(api, conversation, "user", "hello").get("id").asText();
        String path = "/v1/conversations/" + conversation;
        try (var held = new HeldCommits(TestDatabase.get().connect(database()), app)) {
            held.whileCommitting(() -> api.post(path + "/read", Map.of("message_id", said)), "inbox:" + app + ":" + user);
            held.whileCommitting(() -> api.post("/v1/users", Map.of("external_id", "ext", "profile", Map.of("n", 1))));
            held.whileCommitting(() -> api.post("/v1/users", Map.of("external_id", "ext", "profile", Map.of("n", 2))),
                    "user:" + app + ":" + api.getOk("/v1/users?external_id=ext").get("id").asText());
            held.whileCommitting(() -> api.patch("/v1/users/" + user, Map.of("profile", Map.of("mood", "calm"))),
                    "user:" + app + ":" + user);
            held.whileCommitting(() -> api.post("/v1/users/" + user + "/counters?durable=true", Map.of("increments", Map.of("xp", 1))),
                    "user:" + app + ":" + user);
            held.whileCommitting(() -> api.post(path + "/counters?durable=true", Map.of("increments", Map.of("love", 1))),
                    "conversation:" + app + ":" + conversation, "inbox:" + app + ":" + user);
            held.whileCommitting(() -> api.patch("/v1/characters/" + character, Map.of("name", "Nova")),
                    "character:" + app + ":" + character, "inboxes:" + app);
            held.whileCommitting(() -> api.post("/v1/conversations", Map.of("user_id", user, "character_id", character)),
                    "inbox:" + app + ":" + user);
            held.whileCommitting(() -> api.post(path + "/members", Map.of("user_id", guest)),
                    "conversation:" + app + ":" + conversation, "inbox:" + app + ":" + user, "inbox:" + app + ":" + guest);
            held.whileCommitting(() -> api.post("/v1/users/" + user + "/memories", Map.of("character_id", character,
                    "content", "likes tea", "embedding", List.of(1.0, 0.0))), "user:" + app + ":" + user);
            held.whileCommitting(() -> api.delete(path), "conversation:" + app + ":" + conversation, "inbox:" + app + ":" + user,
                    "inbox:" + app + ":" + guest, "user:" + app + ":" + user, "user:" + app + ":" + guest);
            held.whileCommitting(() -> api.delete("/v1/users/" + guest), "user:" + app + ":" + guest, "inbox:" + app + ":" + guest);
            held.whileCommitting(() -> api.delete("/v1/characters/" + unused), "character:" + app + ":" + unused, "inboxes:" + app);
        }
    }

    /**
     * Holds the commit of every transaction that changes a row of one app in the tables a write path changes (a
     * deferred trigger waits for an advisory lock the test holds), so a test can look at Redis while a write commits.
     */
    private final class HeldCommits implements AutoCloseable {
        private static final List<String> TABLES = List.of("users", "characters", "conversations", "conversation_members",
                "memory_scopes");
        private static final long LOCK = 7_310_001L;
        private final Connection sql;

        HeldCommits(Connection sql, long app) throws SQLException {
            this.sql = sql;
            try (var statement = sql.createStatement()) {
                statement.execute("""
                        CREATE OR REPLACE FUNCTION test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN PERFORM pg_advisory_xact_lock_shared(%d); RETURN NULL; END $$""".formatted(LOCK));
                for (String table : TABLES) {
                    statement.execute("""
                            CREATE CONSTRAINT TRIGGER test_hold_changed AFTER INSERT OR UPDATE ON %1$s DEFERRABLE INITIALLY DEFERRED
                            FOR EACH ROW WHEN (NEW.app_id = %2$d) EXECUTE FUNCTION test_hold_commit()""".formatted(table, app));
                    statement.execute("""
                            CREATE CONSTRAINT TRIGGER test_hold_deleted AFTER DELETE ON %1$s DEFERRABLE INITIALLY DEFERRED
                            FOR EACH ROW WHEN (OLD.app_id = %2$d) EXECUTE FUNCTION test_hold_commit()""".formatted(table, app));
                }
            }
        }

        /**
         * Sends {@code write} with its commit held; once it waits to commit, the scopes marked changing in Redis must be
         * {@code marked} ("inbox:app:user", "inboxes:app" for all of an app's); it must then succeed and leave no mark.
         */
        void whileCommitting(java.util.concurrent.Callable<Api.Response> write, String... marked) throws Exception {
            try (var statement = sql.createStatement()) {
                statement.execute("SELECT pg_advisory_lock(" + LOCK + ")");
            }
            var pending = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor().submit(write);
            try {
                Wait.until("the write to wait for its commit", Duration.ofSeconds(10), () -> waiting() || pending.isDone());
                assertThat(pending.isDone()).as("the write waits to commit").isFalse();
                // Every scope marked (a notice may have moved an inbox's generation since), and no other live mark.
                assertThat(marks(false)).as("marked while the write commits").contains(marked);
                assertThat(marks(true)).as("live marks while the write commits").isSubsetOf(marked);
            } finally {
                try (var statement = sql.createStatement()) {
                    statement.execute("SELECT pg_advisory_unlock(" + LOCK + ")");
                }
            }
            Api.Response answer = pending.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(answer.status()).as(answer.toString()).isBetween(200, 299);
            assertThat(marks(true)).as("nothing marked once it committed").isEmpty();
        }

        private boolean waiting() throws SQLException {
            try (var statement = sql.createStatement();
                 var rows = statement.executeQuery("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = " + LOCK + " AND NOT granted")) {
                rows.next();
                return rows.getLong(1) > 0;
            }
        }

        /**
         * "kind:app:id" of every scope marked changing, "inboxes:app" for an app's inboxes, under this test's prefix;
         * with {@code liveOnly}, only the marks readers consult. A mark of an inbox is kept under its app's generation of
         * inboxes, and a change to every inbox (a character's name, heard again in its notice) starts a new one: a mark
         * made under the generation before is read by no one, and its change cannot find it to remove it; it expires.
         */
        private List<String> marks(boolean liveOnly) {
            var redis = TestRedis.get().commands();
            String database = TestRedis.get().keys(prefix).stream().filter(key -> key.endsWith(":epoch")).findFirst()
                    .orElseThrow().replaceAll("epoch$", ""); // <prefix><database identity>:
            String epoch = database + redis.get(database + "epoch") + ":";
            var inbox = java.util.regex.Pattern.compile("^inbox:(\\d+):\\d+:([^:]+)$");
            List<String> live = new ArrayList<>();
            for (String key : TestRedis.get().keys(epoch)) {
                if (!key.endsWith(":changing") || redis.scard(key) == 0) {
                    continue;
                }
                String scope = key.substring(epoch.length(), key.length() - ":changing".length());
                var ofInbox = inbox.matcher(scope);
                if (!ofInbox.matches()) {
                    live.add(scope);
                } else if (!liveOnly || ofInbox.group(2).equals(redis.get(epoch + "inboxes:" + ofInbox.group(1)))) {
                    live.add(scope.substring(0, scope.lastIndexOf(':')));
                }
            }
            return live;
        }

        @Override
        public void close() throws SQLException {
            try (var statement = sql.createStatement()) {
                for (String table : TABLES) {
                    statement.execute("DROP TRIGGER test_hold_changed ON " + table);
                    statement.execute("DROP TRIGGER test_hold_deleted ON " + table);
                }
            } finally {
                sql.close();
            }
        }
    }

    /**
     * Waits until both instances have heard every change committed so far, so none drops a view in Redis
     * while the test reads it. Notices arrive in commit order: a marker sent last is heard after all
     * before it. The marker is a user notice, which no write above sends (users are only inserted).
     */
    private void heardSoFar() throws SQLException {
        double first = meter(viaFirst, "parley_cache_notices_total", "kind=\"u\"");
        double second = meter(viaSecond, "parley_cache_notices_total", "kind=\"u\"");
        try (Connection sql = TestDatabase.get().connect(database()); var statement = sql.createStatement()) {
            statement.execute("NOTIFY parley_invalidate, 'u:0:0'");
        }
        Wait.until("both instances to hear the marker", Duration.ofSeconds(5),
                () -> meter(viaFirst, "parley_cache_notices_total", "kind=\"u\"") > first
                        && meter(viaSecond, "parley_cache_notices_total", "kind=\"u\"") > second);
    }

    /** Both instances stopped and started again on the same database: nothing in memory, the same app. */
    private void restart() {
        String key = viaFirst.key();
        stop();
        first = TestServer.alongside(database(), env());
        second = TestServer.alongside(database(), env());
        viaFirst = new Api("http://127.0.0.1:" + first.port(), key);
        viaSecond = new Api("http://127.0.0.1:" + second.port(), key);
    }

    /** Reads each view through the first instance, then through the second: same answer, and no load there. */
    private void sameOnBoth(List<String> views) {
        double loadsBefore = meter(viaSecond, "parley_cache_loads_total");
        double hitsBefore = meter(viaSecond, "parley_cache_redis_requests_total", "result=\"hit\"");
        for (String view : views) {
            Api.Response loaded = viaFirst.get(view);
            Api.Response shared = viaSecond.get(view);
            assertThat(shared.status()).as(view).isEqualTo(200);
            assertThat(shared.raw().body()).as(view).isEqualTo(loaded.raw().body());
            assertThat(shared.header("ETag")).as(view).isEqualTo(loaded.header("ETag"));
            assertThat(viaSecond.sendBytes("GET", view, null, "If-None-Match", loaded.header("ETag")).status()).as(view)
                    .isEqualTo(304);
        }
        assertThat(meter(viaSecond, "parley_cache_loads_total")).as("loads from PostgreSQL on the second").isEqualTo(loadsBefore);
        assertThat(meter(viaSecond, "parley_cache_redis_requests_total", "result=\"hit\""))
                .as("views the second read from Redis").isEqualTo(hitsBefore + views.size());
    }

    /** The sum of a Prometheus meter's series that carry every label given ({@code result="hit"}). */
    static double meter(Api api, String name, String... labels) {
        return TestServer.metrics(api).lines()
                .filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
                .filter(line -> Arrays.stream(labels).allMatch(line::contains))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }
}
