package dev.parley.http;

import static dev.parley.http.TwoInstancesWithRedisTest.meter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestRedis;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import io.lettuce.core.RedisClient;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Redis taken away from a serving Parley (a redis-server of the test's own, killed with SIGKILL and
 * started again): every request still succeeds, from memory and PostgreSQL, and only the first few
 * after the kill try Redis at all (counted and timed by Parley's own meters, which a busy machine does
 * not blur as it does a request's time); one log line and the up gauge say so; and once Redis answers
 * again Parley uses it again, without a restart.
 */
class RedisOutageTest {
    private static final String DB = "parley_redis_outage";
    /** A bound on any one request, against hangs: the machine's load, not Redis, sets how long a request takes. */
    private static final Duration SLOWEST = Duration.ofSeconds(5);

    @Test
    void requests_succeed_while_redis_is_down_and_redis_is_used_again_once_it_is_back() {
        try (var redis = TestRedis.startOwn(); Parley parley = TestServer.start(DB, env(redis))) {
            Api api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("outage").apiKey());
            String character = Fixtures.character(api, "Luna");
            String user = Fixtures.user(api, "outage-" + System.nanoTime());
            String conversation = Fixtures.conversation(api, user, character);
            readAll(api, character, user, conversation);
            assertThat(meter(api, "parley_cache_redis_up")).isEqualTo(1);

            double commandsBefore = meter(api, "parley_cache_redis_command_seconds_count");
            double secondsBefore = meter(api, "parley_cache_redis_command_seconds_sum");
            String log = capturingErrors(() -> {
                redis.kill();
                for (int i = 0; i < 20; i++) {
                    timed(() -> Fixtures.say(api, conversation, "user", "said while Redis was down"));
                    readAll(api, character, user, conversation);
                }
            });

            assertThat(log.lines().toList()).as("all that was logged while Redis was down").hasSize(1);
            assertThat(log).contains("Redis at 127.0.0.1").contains("failed").contains("without it");
            assertThat(meter(api, "parley_cache_redis_up")).isZero();
            assertThat(meter(api, "parley_cache_redis_command_seconds_count") - commandsBefore)
                    .as("commands tried on the dead Redis, by 20 appends and 100 reads: the first failures opened the circuit")
                    .isLessThanOrEqualTo(3);
            assertThat(meter(api, "parley_cache_redis_command_seconds_sum") - secondsBefore)
                    .as("seconds all those requests spent on Redis").isLessThan(1.0);
            assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages")).hasSize(20);

            redis.start();
            Wait.until("Parley to use Redis again", Duration.ofSeconds(10), () -> meter(api, "parley_cache_redis_up") == 1);
            Fixtures.say(api, conversation, "user", "said once Redis was back");
            double kept = meter(api, "parley_cache_redis_writes_total", "result=\"kept\"");
            readAll(api, character, user, conversation);

            assertThat(meter(api, "parley_cache_redis_writes_total", "result=\"kept\"")).as("views written to the new Redis")
                    .isGreaterThan(kept);
            assertThat(keysIn(redis)).isPositive();
            assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages")).hasSize(21);
        }
    }

    @Test
    void parley_starts_without_redis_and_uses_it_once_it_answers() {
        try (var redis = TestRedis.startOwn()) {
            redis.kill();
            try (Parley parley = TestServer.start(DB, env(redis))) {
                Api api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("late").apiKey());
                String character = Fixtures.character(api, "Luna");
                assertThat(timed(() -> api.getOk("/v1/characters/" + character)).get("name").asText()).isEqualTo("Luna");
                assertThat(meter(api, "parley_cache_redis_up")).isZero();

                redis.start();
                Wait.until("Parley to use Redis", Duration.ofSeconds(10), () -> meter(api, "parley_cache_redis_up") == 1);
                api.getOk("/v1/users/" + Fixtures.user(api, "read-" + System.nanoTime()));

                assertThat(meter(api, "parley_cache_redis_writes_total", "result=\"kept\"")).isEqualTo(1);
            }
        }
    }

    @Test
    void a_redis_that_refuses_the_urls_database_number_stops_the_start_instead_of_passing_for_an_outage() {
        var env = Map.of("PARLEY_REDIS_URL", "redis://127.0.0.1:6379/99", "PARLEY_REDIS_PREFIX", TestRedis.newPrefix());

        var upkeep = AccessLogTest.capture("dev.parley.ops.Maintenance", () -> {
            assertThatThrownBy(() -> TestServer.start(DB + "_refused", env).close())
                    .hasMessageContaining("Redis at 127.0.0.1:6379/99 refuses PARLEY_REDIS_URL").hasMessageContaining("DB index");
            return null;
        });

        assertThat(upkeep).as("no upkeep was begun by the start that failed, to fail on its closed pool").isEmpty();
    }

    /**
     * An ACL user that may not run scripts passed the start (a ping and a SET), and then each request's first script
     * opened the circuit, whose probe closed it again a second later: two log lines a second and a new epoch each time.
     */
    @Test
    void a_redis_user_the_acl_denies_scripts_stops_the_start_as_a_setting_to_mend() {
        try (TestRedis.Own redis = TestRedis.startOwn()) {
            var client = RedisClient.create(redis.url());
            try (var connection = client.connect()) {
                connection.sync().aclSetuser("noscripts", io.lettuce.core.AclSetuserArgs.Builder.on().addPassword("pw")
                        .allKeys().allCommands().removeCategory(io.lettuce.core.AclCategory.SCRIPTING));
            } finally {
                client.shutdown();
            }
            var env = Map.of("PARLEY_REDIS_URL", redis.url().replace("redis://", "redis://noscripts:pw@"),
                    "PARLEY_REDIS_PREFIX", TestRedis.newPrefix());

            assertThatThrownBy(() -> TestServer.start(DB + "_noperm", env).close())
                    .hasMessageContaining("refuses PARLEY_REDIS_URL").hasMessageContaining("NOPERM")
                    .hasMessageContaining("the user's permissions (ACL)");
        }
    }

    /** A proxy in front of Redis (twemproxy, Envoy's) takes EVAL and EVALSHA but not SCRIPT: Parley works through it. */
    @Test
    void a_redis_that_does_not_take_script_load_is_used_all_the_same() {
        try (var redis = TestRedis.startOwn(List.of("--rename-command", "SCRIPT", "\"\""));
             Parley parley = TestServer.start(DB, env(redis))) {
            Api api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("proxied").apiKey());
            assertThat(meter(api, "parley_cache_redis_up")).isEqualTo(1);
            api.getOk("/v1/users/" + Fixtures.user(api, "read-" + System.nanoTime()));

            assertThat(meter(api, "parley_cache_redis_writes_total", "result=\"kept\"")).isEqualTo(1);
            assertThat(meter(api, "parley_cache_redis_up")).isEqualTo(1);
        }
    }

    private static Map<String, String> env(TestRedis.Own redis) {
        return Map.of("PARLEY_REDIS_URL", redis.url(), "PARLEY_REDIS_PREFIX", "outage:", "PARLEY_REDIS_TIMEOUT", "500ms");
    }

    /** Every shared view: character, user, conversation, latest history, inbox. */
    private static void readAll(Api api, String character, String user, String conversation) {
        for (String path : new String[] {"/v1/characters/" + character, "/v1/users/" + user, "/v1/conversations/" + conversation,
                "/v1/conversations/" + conversation + "/messages", "/v1/users/" + user + "/inbox"}) {
            timed(() -> api.getOk(path));
        }
    }

    private static <T> T timed(java.util.function.Supplier<T> request) {
        long start = System.nanoTime();
        T answer = request.get();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(SLOWEST);
        return answer;
    }

    private static long keysIn(TestRedis.Own redis) {
        RedisClient client = RedisClient.create(redis.url());
        try (var connection = client.connect()) {
            return connection.sync().dbsize();
        } finally {
            client.shutdown();
        }
    }

    /** What is logged (to standard error, where the tests' logger writes) while {@code action} runs. */
    private static String capturingErrors(Runnable action) {
        PrintStream original = System.err;
        var captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                captured.write(b);
                original.write(b);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) {
                captured.write(bytes, offset, length);
                original.write(bytes, offset, length);
            }
        }, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
