package dev.parley.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Period;
import java.util.Map;
import java.util.Optional;

/**
 * Every setting Parley reads, parsed and validated once at start-up, then never re-read.
 * Each value comes from its flag, else its environment variable, else its default.
 */
public record Settings(
        Optional<DatabaseUrl> databaseUrl,
        Path dataDir,
        int embeddedPort,
        String host,
        int port,
        int poolSize,
        Duration poolTimeout,
        RequestLimits requestLimits,
        long maxBodyBytes,
        int maxContentBytes,
        int maxMetadataBytes,
        Duration slowQueryThreshold,
        Duration slowQuerySqlThreshold,
        int appendWriters,
        long recallCacheBytes,
        long memoryScopeBytes,
        int appSharePercent,
        int rateLimit,
        int rateBurst,
        long cacheBytes,
        CacheTtls cacheTtls,
        Optional<String> redisUrl,
        String redisPrefix,
        Duration redisTimeout,
        Duration typingTtl,
        Duration presenceTtl,
        CounterFlush counterFlush,
        Duration analyticsRefresh,
        Optional<Period> archiveAfter,
        Admin admin,
        Replication replication,
        boolean migrate,
        PgBouncer pgbouncer,
        Optional<DatabaseUrl> directDatabaseUrl) {

    /** Refuses PgBouncer settings that cannot work together, naming the setting (PgBouncer#check). */
    public Settings {
        pgbouncer.check(databaseUrl, directDatabaseUrl);
    }

    /**
     * How many bytes of embeddings one scope (a user's memories of one character) may hold by default: 21,845 memories
     * of 768 dimensions, 10,922 of 1,536, 4,096 of 4,096. Recall reads a scope whole, and keeps it in about 1.25 times
     * its bytes (floats and their 8-bit copies): a full one takes 80 MiB of the default 256 MiB PARLEY_RECALL_CACHE.
     */
    public static final long DEFAULT_MEMORY_SCOPE_BYTES = 64L << 20;

    /** How often the analytics views are refreshed by default: figures at most this old, a full refresh each time. */
    public static final Duration DEFAULT_ANALYTICS_REFRESH = Duration.ofMinutes(5);

    /** Values given on the command line; a null field means "not given". */
    public record Flags(
            String databaseUrl,
            String dataDir,
            String embeddedPort,
            String host,
            String port,
            String poolSize,
            String poolTimeout,
            String maxBody,
            String maxContent,
            String maxMetadata,
            String slowQuery,
            String appendWriters,
            String recallCache,
            String memoryScopeLimit,
            String appShare,
            String rateLimit,
            String rateBurst,
            String cacheSize,
            String cacheTtl,
            String redisUrl,
            String counterFlushEvery,
            String counterFlushAfter,
            String redisPrefix,
            String redisTimeout,
            String typingTtl,
            String presenceTtl,
            String analyticsRefresh,
            String adminHost,
            String adminPort,
            boolean migrate) {

        public static Flags none() {
            return database(null, null, null);
        }

        /** Only the flags that say where the database is, as commands other than serve take them. */
        public static Flags database(String databaseUrl, String dataDir, String embeddedPort) {
            return new Flags(databaseUrl, dataDir, embeddedPort, null, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, false);
        }
    }

    /** Resolves flags over environment over defaults; throws {@link InvalidSetting} naming the culprit. */
    public static Settings resolve(Flags flags, Map<String, String> env) {
        var source = new SettingSource(env);
        return new Settings(
                source.text(flags.databaseUrl(), "--database-url", "DATABASE_URL").map(DatabaseUrl::parse),
                Path.of(source.text(flags.dataDir(), "--data-dir", "PARLEY_DATA_DIR")
                        .orElse(defaultDataDir(env))),
                source.integer(flags.embeddedPort(), "--embedded-port", "PARLEY_EMBEDDED_PORT", 0, 0, 65535),
                source.listenAddress(flags.host(), "--host", "PARLEY_HOST", "127.0.0.1"),
                source.integer(flags.port(), "--port", "PARLEY_PORT", 8080, 0, 65535),
                source.integer(flags.poolSize(), "--pool-size", "PARLEY_POOL_SIZE", 10, 1, 1000),
                source.duration(flags.poolTimeout(), "--pool-timeout", "PARLEY_POOL_TIMEOUT",
                        Duration.ofSeconds(2), Duration.ofMillis(250), Duration.ofMinutes(1)),
                RequestLimits.resolve(source),
                source.bytes(flags.maxBody(), "--max-body", "PARLEY_MAX_BODY", 8L << 20, 1024, 1L << 30),
                (int) source.bytes(flags.maxContent(), "--max-content", "PARLEY_MAX_CONTENT", 32 << 10, 1, 16L << 20),
                (int) source.bytes(flags.maxMetadata(), "--max-metadata", "PARLEY_MAX_METADATA", 16 << 10, 2, 16L << 20),
                source.duration(flags.slowQuery(), "--slow-query", "PARLEY_SLOW_QUERY",
                        Duration.ofMillis(200), Duration.ZERO, Duration.ofHours(1)),
                source.duration(null, null, "PARLEY_SLOW_QUERY_SQL", Duration.ofSeconds(1), Duration.ZERO, Duration.ofHours(1)),
                source.integer(flags.appendWriters(), "--append-writers", "PARLEY_APPEND_WRITERS", 1, 1, 64),
                source.bytes(flags.recallCache(), "--recall-cache", "PARLEY_RECALL_CACHE", 256L << 20, 0, 1L << 40),
                source.bytes(flags.memoryScopeLimit(), "--memory-scope-limit", "PARLEY_MEMORY_SCOPE_LIMIT",
                        DEFAULT_MEMORY_SCOPE_BYTES, 16L << 10, 1L << 34), // at least one embedding of 4,096 floats
                source.integer(flags.appShare(), "--app-share", "PARLEY_APP_SHARE", 75, 10, 100),
                source.integer(flags.rateLimit(), "--rate-limit", "PARLEY_RATE_LIMIT", 0, 0, 1_000_000),
                source.integer(flags.rateBurst(), "--rate-burst", "PARLEY_RATE_BURST", 0, 0, 1_000_000),
                source.bytes(flags.cacheSize(), "--cache-size", "PARLEY_CACHE_SIZE", 256L << 20, 0, 1L << 40),
                source.cacheTtls(flags.cacheTtl(), "--cache-ttl", "PARLEY_CACHE_TTL"),
                source.redisUrl(flags.redisUrl(), "--redis-url", "PARLEY_REDIS_URL"),
                source.text(flags.redisPrefix(), "--redis-prefix", "PARLEY_REDIS_PREFIX").orElse("parley:"),
                source.duration(flags.redisTimeout(), "--redis-timeout", "PARLEY_REDIS_TIMEOUT",
                        Duration.ofMillis(100), Duration.ofMillis(5), Duration.ofSeconds(10)),
                source.duration(flags.typingTtl(), "--typing-ttl", "PARLEY_TYPING_TTL",
                        Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMinutes(10)),
                source.duration(flags.presenceTtl(), "--presence-ttl", "PARLEY_PRESENCE_TTL",
                        Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofHours(1)),
                new CounterFlush(
                        source.integer(flags.counterFlushEvery(), "--counter-flush-every", "PARLEY_COUNTER_FLUSH_EVERY",
                                CounterFlush.DEFAULTS.increments(), 1, 1_000_000),
                        source.duration(flags.counterFlushAfter(), "--counter-flush-after", "PARLEY_COUNTER_FLUSH_AFTER",
                                CounterFlush.DEFAULTS.after(), Duration.ofMillis(10), Duration.ofHours(1))),
                source.duration(flags.analyticsRefresh(), "--analytics-refresh", "PARLEY_ANALYTICS_REFRESH",
                        DEFAULT_ANALYTICS_REFRESH, Duration.ofSeconds(10), Duration.ofDays(1)),
                source.age("PARLEY_ARCHIVE_AFTER"),
                Admin.resolve(source, flags.adminHost(), flags.adminPort()),
                Replication.resolve(source),
                flags.migrate() || source.bool("PARLEY_MIGRATE"),
                PgBouncer.parse(source.text(null, null, "PARLEY_PGBOUNCER")),
                source.text(null, null, "PARLEY_DIRECT_DATABASE_URL")
                        .map(raw -> DatabaseUrl.parse(raw, null, "PARLEY_DIRECT_DATABASE_URL")));
    }

    /** The token bucket's size: PARLEY_RATE_BURST, or one second's worth of requests when not set. */
    /**
     * A warning when the two caches' budgets (PARLEY_CACHE_SIZE and PARLEY_RECALL_CACHE, both full on a busy server) take
     * over half of {@code heapBytes}: the rest of the work then runs in what is left, in long collections or out of memory.
     */
    public Optional<String> cachesCrowdingTheHeap(long heapBytes) {
        long caches = cacheBytes + recallCacheBytes;
        if (caches <= heapBytes / 2) {
            return Optional.empty();
        }
        return Optional.of("the read cache (PARLEY_CACHE_SIZE, " + (cacheBytes >> 20) + " MiB) and the recall cache "
                + "(PARLEY_RECALL_CACHE, " + (recallCacheBytes >> 20) + " MiB) may hold " + (caches >> 20) + " MiB of a "
                + (heapBytes >> 20) + " MiB heap, more than half: give Java more memory (-Xmx, in PARLEY_JAVA_OPTS for the parley launcher) or the caches less");
    }

    public int burst() {
        return rateBurst == 0 ? rateLimit : rateBurst;
    }

    private static String defaultDataDir(Map<String, String> env) {
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        return Path.of(home, ".parley").toString();
    }

    /** The settings as an operator would want to see them, with the database password masked. */
    @Override
    public String toString() {
        return "Settings[database=" + databaseUrl.map(DatabaseUrl::masked)
                        .orElse("embedded in " + dataDir + (embeddedPort == 0 ? "" : " on port " + embeddedPort))
                + ", listen=" + host + ":" + port
                + ", poolSize=" + poolSize + ", poolTimeout=" + poolTimeout.toMillis() + "ms, requestLimits=(" + requestLimits + ")"
                + ", maxBody=" + maxBodyBytes + ", maxContent=" + maxContentBytes + ", maxMetadata=" + maxMetadataBytes
                + ", slowQuery=" + slowQueryThreshold.toMillis() + "ms (with SQL from " + slowQuerySqlThreshold.toMillis()
                + "ms), appendWriters=" + appendWriters
                + ", recallCache=" + recallCacheBytes + ", memoryScopeLimit=" + memoryScopeBytes + ", appShare=" + appSharePercent + "%"
                + ", rateLimit=" + (rateLimit == 0 ? "off" : rateLimit + "/s burst " + burst())
                + ", cache=" + (cacheBytes == 0 ? "off" : cacheBytes + " bytes, " + cacheTtls)
                + ", redis=" + redisUrl.map(url -> Passwords.hiddenIn(url) + " (keys " + redisPrefix
                        + "*, timeout " + redisTimeout.toMillis() + "ms)").orElse("none")
                + ", typingTtl=" + Durations.format(typingTtl) + ", presenceTtl=" + Durations.format(presenceTtl)
                + ", counterFlush=" + counterFlush + ", analyticsRefresh=" + Durations.format(analyticsRefresh)
                + ", archiveAfter=" + archiveAfter.map(Period::toString).orElse("off")
                + ", admin=" + admin + ", replicas=" + replication + ", migrate=" + migrate
                + ", pgbouncer=" + pgbouncer + ", direct=" + directDatabaseUrl.map(DatabaseUrl::masked).orElse("none") + "]";
    }
}
