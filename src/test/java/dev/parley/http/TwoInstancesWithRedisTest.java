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
        return TestRedis.get().env(prefix);
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
