package dev.parley.support;

import dev.parley.Parley;
import dev.parley.Storage;
import dev.parley.config.Settings;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One Parley for the API tests, on a random port over real HTTP. Tests isolate themselves by app. */
public final class TestServer {
    /** The shared server's database, for tests that look at or plant rows directly. */
    public static final String DATABASE = "parley_api";
    private static Parley parley;
    private static final AtomicInteger APPS = new AtomicInteger();
    /** Every instance started here, by its API port, so a test's client finds the admin port beside it. */
    private static final Map<Integer, Parley> BY_PORT = new java.util.concurrent.ConcurrentHashMap<>();
    /** The admin key of each instance started with one, by its admin port. */
    private static final Map<Integer, String> ADMIN_KEYS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

    private TestServer() {
    }

    public static synchronized Parley get() {
        if (parley == null) {
            var target = TestDatabase.get().migrated(DATABASE);
            statementStatistics(target);
            var settings = Settings.resolve(Settings.Flags.none(), withDefaults(Map.of()));
            parley = afterFirstMaintenance(Parley.start(settings, target, false, Clock.systemUTC()), settings);
        }
        return parley;
    }

    /** pg_stat_statements in the shared server's database, as the embedded database has it: the monitor reads it. */
    private static void statementStatistics(dev.parley.db.ConnectionTarget target) {
        try (var connection = java.sql.DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password())) {
            connection.createStatement().execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not create pg_stat_statements in " + DATABASE, e);
        }
    }

    /** A separate Parley with its own database and settings (environment variable names, as in production). */
    public static Parley start(String database, Map<String, String> env) {
        return start(database, env, Clock.systemUTC());
    }

    /** As above, on a clock of the test's (a {@link TestClock} it moves). */
    public static Parley start(String database, Map<String, String> env, Clock clock) {
        var target = TestDatabase.get().migrated(database);
        var settings = Settings.resolve(Settings.Flags.none(), withDefaults(env));
        return afterFirstMaintenance(Parley.start(settings, target, false, clock), settings);
    }

    /** A Parley on a database of a PostgreSQL of the test's own (a primary with a standby, say), migrated as it starts. */
    public static Parley startOn(dev.parley.db.ConnectionTarget target, Map<String, String> env) {
        var settings = Settings.resolve(Settings.Flags.none(), withDefaults(env));
        return afterFirstMaintenance(Parley.start(settings, target, true, Clock.systemUTC()), settings);
    }

    /** Another Parley on a database a first one made: two instances sharing one PostgreSQL. */
    public static Parley alongside(String database, Map<String, String> env) {
        return alongside(database, env, Clock.systemUTC());
    }

    public static Parley alongside(String database, Map<String, String> env, Clock clock) {
        var settings = Settings.resolve(Settings.Flags.none(), withDefaults(env));
        return afterFirstMaintenance(Parley.start(settings, TestDatabase.get().target(database), false, clock), settings);
    }

    /**
     * A Parley connected as 'parley serve' connects: to DATABASE_URL of {@code env}, and to the rest of its
     * database settings (PARLEY_PGBOUNCER, PARLEY_DIRECT_DATABASE_URL).
     */
    public static Parley serving(Map<String, String> env) {
        var settings = Settings.resolve(Settings.Flags.none(), withDefaults(env));
        return afterFirstMaintenance(Parley.start(settings, Storage.open(settings).target(), false, Clock.systemUTC()), settings);
    }

    /**
     * The instance once the maintenance round it runs in the background as it starts has finished (or 10 s
     * have passed): a test that sets a retention policy or plants rows is not raced by that round.
     */
    private static Parley afterFirstMaintenance(Parley parley, Settings settings) {
        BY_PORT.put(parley.port(), parley);
        settings.admin().key().ifPresent(key -> ADMIN_KEYS.put(parley.adminPort(), key));
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (metrics(parley).lines().anyMatch(line -> line.startsWith("parley_maintenance_rounds_total") && !line.endsWith(" 0.0"))) {
                    return parley;
                }
                Thread.sleep(20);
            } catch (java.io.UncheckedIOException e) {
                return parley; // nothing to wait for on an instance that does not answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return parley;
            }
        }
        return parley;
    }

    private static Map<String, String> withDefaults(Map<String, String> env) {
        var all = new java.util.HashMap<>(Map.of("PARLEY_PORT", "0", "PARLEY_HOST", "127.0.0.1", "PARLEY_POOL_SIZE", "20",
                "PARLEY_ADMIN_PORT", "0"));
        all.putAll(env);
        return all;
    }

    /** The Prometheus metrics of the instance {@code api} talks to, from that instance's admin port. */
    public static String metrics(Api api) {
        Parley instance = BY_PORT.get(java.net.URI.create(api.base()).getPort());
        if (instance == null) {
            throw new IllegalArgumentException(api.base() + " is not an instance TestServer started");
        }
        return metrics(instance);
    }

    /** The value of a metric without labels (a counter's {@code …_total}, say) on the instance {@code api} talks to. */
    public static double metric(Api api, String name) {
        java.util.regex.Matcher line = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name) + " (\\S+)$")
                .matcher(metrics(api));
        if (!line.find()) {
            throw new IllegalStateException(name + " is not in /metrics");
        }
        return Double.parseDouble(line.group(1));
    }

    /**
     * The named statements {@code request} ran on the server {@code api} talks to, and how many times, from /metrics
     * (not the key's lookup, nor the sampler's).
     */
    public static Map<String, Double> statementsRunBy(Api api, Runnable request) {
        Map<String, Double> before = statements(api);
        request.run();
        Map<String, Double> ran = new HashMap<>();
        statements(api).forEach((query, count) -> {
            double delta = count - before.getOrDefault(query, 0.0);
            if (delta > 0 && !query.startsWith("api_key.") && !query.startsWith("monitor.")) {
                ran.put(query, delta);
            }
        });
        return ran;
    }

    /** How many times each named statement has run on the server, from /metrics. */
    private static Map<String, Double> statements(Api api) {
        Pattern count = Pattern.compile("^parley_query_seconds_count\\{[^}]*query=\"([^\"]+)\"[^}]*} (\\S+)$", Pattern.MULTILINE);
        Matcher found = count.matcher(metrics(api));
        Map<String, Double> counts = new HashMap<>();
        while (found.find()) {
            counts.merge(found.group(1), Double.parseDouble(found.group(2)), Double::sum);
        }
        return counts;
    }

    /** An instance's Prometheus metrics, from its admin port (with its admin key, when it was started with one). */
    public static String metrics(Parley instance) {
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + instance.adminPort() + "/metrics"));
        String key = ADMIN_KEYS.get(instance.adminPort());
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        try {
            var response = HTTP.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("/metrics answered " + response.statusCode() + ": " + response.body());
            }
            return response.body();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A client for a brand-new app on the shared server. */
    public static Api newApp() {
        var created = get().apps().create("test-app-" + APPS.incrementAndGet() + "-" + System.nanoTime());
        return new Api("http://127.0.0.1:" + get().port(), created.apiKey());
    }
}
