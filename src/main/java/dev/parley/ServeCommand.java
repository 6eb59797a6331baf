package dev.parley;

import dev.parley.config.Settings;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {
                "Run the Parley HTTP API.",
                "Without DATABASE_URL it starts (or attaches to) an embedded PostgreSQL in the data folder and "
                        + "migrates it. With DATABASE_URL it checks the schema is current and refuses to start if not, "
                        + "unless --migrate is given. SIGTERM stops it gracefully: no new requests, in-flight ones finish.",
                "Behind a PgBouncer in transaction mode set PARLEY_PGBOUNCER=transaction and PARLEY_DIRECT_DATABASE_URL "
                        + "(PostgreSQL itself, for LISTEN, migrations and locks): docs/operations.md, \"PgBouncer\"."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--host", description = "Address to listen on (env PARLEY_HOST, default 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Port to listen on, 0 for any free one (env PARLEY_PORT, default 8080).")
    String port;

    @Option(names = "--pool-size", description = "Database connections (env PARLEY_POOL_SIZE, default 10).")
    String poolSize;

    @Option(names = "--pool-timeout", description = "Longest wait for a connection before answering 503 (env PARLEY_POOL_TIMEOUT, default 2s).")
    String poolTimeout;

    @Option(names = "--max-body", description = "Largest request body (env PARLEY_MAX_BODY, default 8MiB).")
    String maxBody;

    @Option(names = "--max-content", description = "Largest message content, UTF-8 bytes (env PARLEY_MAX_CONTENT, default 32KiB).")
    String maxContent;

    @Option(names = "--max-metadata", description = "Largest JSON metadata/traits/state (env PARLEY_MAX_METADATA, default 16KiB).")
    String maxMetadata;

    @Option(names = "--slow-query", description = "Log statements slower than this with their name, time and rows "
            + "(env PARLEY_SLOW_QUERY, default 200ms); PARLEY_SLOW_QUERY_SQL (default 1s) adds the SQL text, never its values.")
    String slowQuery;

    @Option(names = "--append-writers", description = "Group-commit writer threads (env PARLEY_APPEND_WRITERS, default 1).")
    String appendWriters;

    @Option(names = "--recall-cache", description = "Memory for embeddings held for recall (env PARLEY_RECALL_CACHE, default 256MiB).")
    String recallCache;

    @Option(names = "--memory-scope-limit", description = "Bytes of embeddings one user's memories of one character may "
            + "hold (env PARLEY_MEMORY_SCOPE_LIMIT, default 64MiB: 21,845 memories of 768 dimensions); a write past it is a 409.")
    String memoryScopeLimit;

    @Option(names = "--app-share", description = "Percent of the pool's connections one app may hold at once, 10-100 "
            + "(env PARLEY_APP_SHARE, default 75): the rest stay free for other apps.")
    String appShare;

    @Option(names = "--rate-limit", description = "Requests per second allowed per API key, 0 for no limit "
            + "(env PARLEY_RATE_LIMIT, default 0); more answer 429 with Retry-After.")
    String rateLimit;

    @Option(names = "--rate-burst", description = "Requests a key may send at once before the rate applies "
            + "(env PARLEY_RATE_BURST, default: one second's worth).")
    String rateBurst;

    @Option(names = "--cache-size", description = "Memory for cached reads, 0 for no cache (env PARLEY_CACHE_SIZE, default 256MiB).")
    String cacheSize;

    @Option(names = "--cache-ttl", description = "How long each kind of cached read lives, e.g. character=30m,user=15m,"
            + "conversation=5m,inbox=30s (env PARLEY_CACHE_TTL; those are the defaults).")
    String cacheTtl;

    @Option(names = "--redis-url", description = "A Redis to share cached reads and ephemeral state between instances, "
            + "redis://host:6379 (env PARLEY_REDIS_URL; default: none).")
    String redisUrl;

    @Option(names = "--counter-flush-every", description = "Write a conversation's or user's counters to the database once they "
            + "have taken this many increments, or --counter-flush-after after the first, whichever comes first "
            + "(env PARLEY_COUNTER_FLUSH_EVERY, default 10).")
    String counterFlushEvery;

    @Option(names = "--counter-flush-after", description = "Longest a counter increment waits in memory before it is written "
            + "(env PARLEY_COUNTER_FLUSH_AFTER, default 5s): a crash loses at most this window; SIGTERM writes it.")
    String counterFlushAfter;

    @Option(names = "--redis-prefix", description = "What every key Parley writes to Redis starts with, so deployments "
            + "can share one Redis (env PARLEY_REDIS_PREFIX, default parley:).")
    String redisPrefix;

    @Option(names = "--redis-timeout", description = "Longest wait for a Redis command; past it Redis is left alone for "
            + "a second and reads go to PostgreSQL (env PARLEY_REDIS_TIMEOUT, default 100ms).")
    String redisTimeout;

    @Option(names = "--typing-ttl", description = "How long a participant shows as typing after saying so "
            + "(env PARLEY_TYPING_TTL, default 10s).")
    String typingTtl;

    @Option(names = "--presence-ttl", description = "How long a user shows as online after saying so "
            + "(env PARLEY_PRESENCE_TTL, default 60s).")
    String presenceTtl;

    @Option(names = "--analytics-refresh", description = "How often the analytics views are refreshed, 10s-24h; their "
            + "figures are at most this old (env PARLEY_ANALYTICS_REFRESH, default 5m). POST /v1/analytics/refresh refreshes now.")
    String analyticsRefresh;

    @Option(names = "--admin-host", description = "Where the admin port listens: /metrics, /admin and /dashboard "
            + "(env PARLEY_ADMIN_HOST, default 127.0.0.1; any other address needs PARLEY_ADMIN_KEY).")
    String adminHost;

    @Option(names = "--admin-port", description = "The admin port, 0 for any free one (env PARLEY_ADMIN_PORT, default 8081).")
    String adminPort;

    @Option(names = "--migrate", description = "Apply pending migrations to DATABASE_URL before serving (env PARLEY_MIGRATE).")
    boolean migrate;

    @Override
    public Integer call() throws InterruptedException {
        Settings settings = Settings.resolve(new Settings.Flags(database.databaseUrl, database.dataDir, database.embeddedPort, host, port,
                poolSize, poolTimeout, maxBody, maxContent, maxMetadata, slowQuery, appendWriters, recallCache,
                memoryScopeLimit, appShare,
                rateLimit, rateBurst, cacheSize, cacheTtl, redisUrl, counterFlushEvery, counterFlushAfter,
                redisPrefix, redisTimeout, typingTtl, presenceTtl, analyticsRefresh, adminHost, adminPort, migrate),
                System.getenv());
        PrintWriter out = spec.commandLine().getOut();
        Storage storage = Storage.open(settings);
        Parley parley;
        try {
            parley = Parley.start(settings, storage.target(), settings.migrate() || storage.embedded(), Clock.systemUTC());
        } catch (RuntimeException e) {
            storage.close();
            throw e;
        }
        String url = "http://" + settings.host() + ":" + parley.port();
        out.println("Parley is serving " + url + "/v1 (API document: " + url + "/openapi.json)");
        out.println("Database: " + storage.describe(settings));
        String admin = "http://" + settings.admin().host() + ":" + parley.adminPort();
        out.println("Dashboard: " + admin + "/dashboard (metrics: " + admin + "/metrics; parley monitor --url " + admin + ")");
        if (parley.apps().isEmpty()) {
            var created = parley.apps().create("default");
            out.println("Created the app 'default'. Its API key, shown only this once:");
            out.println();
            out.println("    " + created.apiKey());
            out.println();
            out.println("Try: curl -H 'Authorization: Bearer " + created.apiKey() + "' " + url + "/v1/characters");
        } else {
            out.println("Use an app's API key (printed when it was created); 'parley apps create NAME' makes another.");
        }
        out.flush();

        var stopped = new CountDownLatch(1);
        // SIGTERM runs this hook; the JVM then exits with 143, as a JVM stopped by SIGTERM does.
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("parley-shutdown").unstarted(() -> {
            parley.close();
            storage.close();
            long lost = parley.counterIncrementsLost();
            out.println("Parley stopped: in-flight requests finished, queued appends committed, "
                    + (lost == 0 ? "counters written" : lost + " counter increment(s) LOST (the log names them)")
                    + ", connections closed.");
            out.flush();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
