package dev.parley.support;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Redis the tests use: PARLEY_TEST_REDIS_URL, else the one at 127.0.0.1:6379, else one started for
 * this run. It is shared (with other test runs too), so each test keeps to keys of its own prefix and
 * never flushes or pauses it; a test that takes Redis away starts one of its own ({@link #startOwn}).
 */
public final class TestRedis {
    private static final String LOCAL = "redis://127.0.0.1:6379";
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static final String GENEROUS_TIMEOUT = "2s";
    private static TestRedis instance;

    private final String url;
    private final RedisCommands<String, String> commands;

    private TestRedis(String url) {
        this.url = url;
        RedisClient client = RedisClient.create(url);
        StatefulRedisConnection<String, String> connection = client.connect();
        this.commands = connection.sync();
    }

    public static synchronized TestRedis get() {
        if (instance == null) {
            instance = new TestRedis(find());
        }
        return instance;
    }

    private static String find() {
        String configured = System.getenv("PARLEY_TEST_REDIS_URL");
        if (configured != null) {
            return configured;
        }
        if (answers(LOCAL)) {
            return LOCAL;
        }
        Own own = startOwn(); // lives as long as the test run
        Runtime.getRuntime().addShutdownHook(new Thread(own::kill));
        return own.url();
    }

    public String url() {
        return url;
    }

    /** A key prefix no other test (nor run) uses. */
    public static String newPrefix() {
        return "parley-test-" + ProcessHandle.current().pid() + "-" + PREFIXES.incrementAndGet() + "-" + System.nanoTime() + ":";
    }

    /**
     * The settings that point a Parley at this Redis, under {@code prefix}. The timeout is generous: on a
     * busy test machine a pause (a collection, the fuzz test's load) can outlast 100 ms, and a circuit
     * opened by it would fail a test about something else. Tests of Redis going away kill it instead.
     */
    public Map<String, String> env(String prefix) {
        return Map.of("PARLEY_REDIS_URL", url, "PARLEY_REDIS_PREFIX", prefix, "PARLEY_REDIS_TIMEOUT", GENEROUS_TIMEOUT);
    }

    /** Commands on this Redis, for looking at what Parley wrote. */
    public RedisCommands<String, String> commands() {
        return commands;
    }

    /** Every key under {@code prefix}. */
    public List<String> keys(String prefix) {
        List<String> keys = new ArrayList<>();
        ScanIterator.scan(commands, ScanArgs.Builder.matches(prefix + "*").limit(1000)).forEachRemaining(keys::add);
        return keys;
    }

    /** Deletes every key under {@code prefix}: a test's own, once it is done (the epoch has no time to live). */
    public void forget(String prefix) {
        List<String> keys = keys(prefix);
        if (!keys.isEmpty()) {
            commands.del(keys.toArray(String[]::new));
        }
    }

    private static boolean answers(String url) {
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(Duration.ofSeconds(1));
        RedisClient client = RedisClient.create(uri);
        try (var connection = client.connect()) {
            return "PONG".equals(connection.sync().ping());
        } catch (RedisException e) {
            return false;
        } finally {
            client.shutdown();
        }
    }

    /** A redis-server of the test's own, as a child process on a free port, storing nothing on disk. */
    public static Own startOwn() {
        return startOwn(List.of());
    }

    /** The same with more of redis-server's settings ({@code --rename-command SCRIPT ""}, as a proxy that lacks it). */
    public static Own startOwn(List<String> settings) {
        return new Own(Ports.free(), settings);
    }

    /** A Redis that a test may kill and start again without disturbing anyone else's. */
    public static final class Own implements AutoCloseable {
        private final int port;
        private final List<String> settings;
        private Process process;

        Own(int port, List<String> settings) {
            this.port = port;
            this.settings = settings;
            start();
        }

        public String url() {
            return "redis://127.0.0.1:" + port;
        }

        /** Starts it (again, on the same port) and waits until it answers. */
        public void start() {
            try {
                Path dir = Files.createTempDirectory("parley-redis");
                List<String> command = new ArrayList<>(List.of("redis-server", "--port", String.valueOf(port), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir.toString()));
                command.addAll(settings);
                process = new ProcessBuilder(command)
                        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
            } catch (IOException e) {
                throw new UncheckedIOException("could not start redis-server (is it installed and on PATH?)", e);
            }
            Wait.until("redis-server on port " + port + " to answer", Duration.ofSeconds(10), () -> answers(url()));
        }

        /** SIGKILL, as a crash or an operator would; returns once the process is gone. */
        public void kill() {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            kill();
        }
    }
}
