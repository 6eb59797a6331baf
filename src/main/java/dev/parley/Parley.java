package dev.parley;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.analytics.Analytics;
import dev.parley.analytics.AnalyticsRefresh;
import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import dev.parley.apps.Origins;
import dev.parley.apps.UserTokens;
import dev.parley.chat.BatchWriter;
import dev.parley.chat.CharacterMessages;
import dev.parley.chat.Characters;
import dev.parley.chat.Conversations;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.Inbox;
import dev.parley.chat.Leaderboards;
import dev.parley.chat.Limits;
import dev.parley.chat.Members;
import dev.parley.chat.MessageLog;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Stats;
import dev.parley.chat.WindowCounts;
import dev.parley.chat.UserReach;
import dev.parley.chat.Users;
import dev.parley.cache.Invalidations;
import dev.parley.cache.ReadCache;
import dev.parley.cache.SharedViews;
import dev.parley.context.ChatContext;
import dev.parley.config.PgBouncer;
import dev.parley.config.RequestLimits;
import dev.parley.config.Settings;
import dev.parley.db.ConnectionCheck;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.DatabaseIdentity;
import dev.parley.db.DatabaseWatch;
import dev.parley.db.Ids;
import dev.parley.db.Migrations;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.QueryLog;
import dev.parley.db.Replicas;
import dev.parley.http.AdminServer;
import dev.parley.http.HttpServer;
import dev.parley.lifecycle.Archive;
import dev.parley.lifecycle.Erasure;
import dev.parley.lifecycle.Import;
import dev.parley.lifecycle.Retention;
import dev.parley.lifecycle.UserExport;
import dev.parley.live.ExpiringMaps;
import dev.parley.live.LocalMaps;
import dev.parley.live.Presence;
import dev.parley.live.RedisMaps;
import dev.parley.live.Typing;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import dev.parley.monitor.DatabaseStats;
import dev.parley.monitor.Timeline;
import dev.parley.ops.Maintenance;
import dev.parley.redis.Redis;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import dev.parley.search.Snippets;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Parley: every part wired by hand, in start order, and closed in the reverse order. Each
 * part that runs in the background gets its threads from here (STYLE: engines don't own their threads).
 */
public final class Parley implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Parley.class);
    /** Versions and epochs of views in Redis: they must not repeat, need not be secret, and are drawn on every miss. */
    private static final RandomGenerator NEVER_THE_SAME_TWICE = () -> ThreadLocalRandom.current().nextLong();
    /** How often a Redis that failed is tried again; meanwhile everything goes without it. */
    private static final Duration REDIS_RETRY = Duration.ofSeconds(1);
    /** Conversations with someone typing and users seen, kept in memory without Redis (or while it is down). */
    private static final long LIVE_KEYS = 100_000;
    /** The background pool: the round lock, a round's work, an analytics refresh, and one to spare. */
    private static final int BACKGROUND_CONNECTIONS = 4;
    /** How long background work waits for one of them: a refresh may hold one for minutes, and nobody waits on it. */
    private static final Duration BACKGROUND_WAIT = Duration.ofMinutes(1);
    /** Its name, the pool label of HikariCP's meters of it. */
    private static final String BACKGROUND_POOL = "parley-background";
    /**
     * How long a start waits for its pools' first connections: a database that has just started on a busy host, or one
     * with hundreds of partitions, can take seconds to give one, longer than a request waits for a free one.
     */
    private static final Duration FIRST_CONNECTION_WAIT = Duration.ofMinutes(1);
    /** One connection's traffic: a second thread only spares a stall when one is busy. */
    private static final int REDIS_IO_THREADS = 2;

    /** The statements of a chat turn, planned on each new pooled connection before it serves one (db.WarmConnections). */
    public static final List<Query> PLANNED_AHEAD = Stream.of(MessageLog.PLANNED_AHEAD, Inbox.PLANNED_AHEAD,
            ChatContext.PLANNED_AHEAD, BatchWriter.PLANNED_AHEAD, ReadMarkers.PLANNED_AHEAD, MessageSearch.PLANNED_AHEAD,
            Recall.PLANNED_AHEAD).flatMap(List::stream).toList();

    /**
     * Those of {@link #PLANNED_AHEAD} that read replicas serve ({@code Database.readNearby}), planned on each new
     * connection to a replica: a standby plans reads only.
     */
    public static final List<Query> READS_PLANNED_AHEAD = Stream.of(MessageLog.PLANNED_AHEAD, Inbox.PLANNED_AHEAD,
            MessageSearch.PLANNED_AHEAD, Recall.PLANNED_AHEAD).flatMap(List::stream).toList();

    private final Deque<AutoCloseable> started; // closed last-first
    private final Database database;
    private final Apps apps;
    private final Retention retention;
    private final HttpServer http;
    private final AdminServer admin;
    private final CounterBuffer counters;

    private Parley(Deque<AutoCloseable> started, Database database, Apps apps, Retention retention, HttpServer http,
                   AdminServer admin, CounterBuffer counters) {
        this.started = started;
        this.database = database;
        this.apps = apps;
        this.retention = retention;
        this.http = http;
        this.admin = admin;
        this.counters = counters;
    }

    /**
     * The read replicas PARLEY_REPLICA_URLS names, sampled in the background, or null when there are none. A
     * replica URL without a user or password takes the primary's: a standby has the primary's roles.
     */
    private static Replicas replicas(Settings settings, ConnectionTarget primary, String schemaVersion, Database database,
                                     QueryLog log, PrometheusMeterRegistry registry, Deque<AutoCloseable> started, Clock clock) {
        var replication = settings.replication();
        if (replication.urls().isEmpty()) {
            return null;
        }
        List<ConnectionTarget> targets = replication.urls().stream().map(url -> new ConnectionTarget(url.jdbcUrl(),
                url.user() != null ? url.user() : primary.user(), url.password() != null ? url.password() : primary.password())).toList();
        // A replica that refuses its URL's password, role or database is a setting to mend, as the primary's is: one
        // retried as unreachable would never serve, and say only that it does not answer.
        for (ConnectionTarget target : targets) {
            ConnectionCheck.refusal(target, "PARLEY_REPLICA_URLS").ifPresent(reason -> {
                throw new IllegalStateException("read replica " + target.where() + " refuses PARLEY_REPLICA_URLS: " + reason);
            });
        }
        // As for the primary: through PgBouncer a connection's server changes between transactions, nothing to warm.
        List<Query> warmup = settings.pgbouncer() == PgBouncer.OFF ? READS_PLANNED_AHEAD : List.<Query>of();
        var replicas = Replicas.start(database, targets, settings.poolSize(), warmup,
                new Replicas.Options(replication.maxLag(), replication.tokenWait(), replication.sampleEvery(), schemaVersion),
                log, registry, threads(started, "parley-replicas", 1), clock, (replica, name) -> {
                    var watch = DatabaseWatch.ofReplica(replica, name, threads(started, "parley-watch-" + name, 1), clock);
                    started.push(watch);
                    return watch;
                });
        started.push(replicas);
        return replicas;
    }

    /** Connects, checks (or applies) the schema, makes partitions ahead, and starts serving HTTP. */
    public static Parley start(Settings settings, ConnectionTarget target, boolean migrate, Clock clock) {
        Deque<AutoCloseable> started = new ArrayDeque<>();
        try {
            PrometheusMeterRegistry registry = Metrics.newRegistry();
            settings.cachesCrowdingTheHeap(Runtime.getRuntime().maxMemory()).ifPresent(LOG::warn);
            // Through a PgBouncer in transaction mode the pool keeps nothing in a session; what needs one goes to
            // PARLEY_DIRECT_DATABASE_URL (docs/operations.md, "PgBouncer").
            var pooled = new ConnectionTarget(settings.pgbouncer().poolUrl(target.jdbcUrl()), target.user(), target.password());
            ConnectionTarget direct = settings.directDatabaseUrl().map(Storage::target).orElse(target);
            var watch = new DatabaseWatch(pooled, threads(started, "parley-watch", 1), clock);
            var slow = new QueryLog.Thresholds(settings.slowQueryThreshold(), settings.slowQuerySqlThreshold());
            var slowest = new Slowest();
            var queryLog = new QueryLog(registry, slow, slowest);
            String schemaVersion = schema(direct, settings, queryLog, migrate); // before the pool that warms: see schema
            // Through PgBouncer a connection's server changes between transactions: nothing to warm on it.
            List<Query> warmup = settings.pgbouncer() == PgBouncer.OFF ? PLANNED_AHEAD : List.<Query>of();
            Database database = Database.connect(pooled, new Database.PoolOptions(settings.poolSize(),
                    settings.poolTimeout(), settings.appSharePercent() / 100.0, warmup, requestLimits(settings)), queryLog,
                    registry, watch);
            database.publishTurns(registry);
            started.push(database::close);
            database.awaitConnections(1, FIRST_CONNECTION_WAIT); // before the start's first statement, which waits as a request
            Replicas replicas = replicas(settings, target, schemaVersion, database, queryLog, registry, started, clock);
            started.push(watch); // the watch stops before the pool closes, so it reports no outage then
            Database background = background(direct, queryLog, registry, started);
            if (direct.where().equals(pooled.where())) { // the server the watch probes; not so behind PgBouncer
                watch.whenUnreachable(background::abortInFlight);
            }
            watch.requireSchema(schemaVersion);
            var partitions = new Partitions(database, background);
            var retention = new Retention(database, background, background, partitions, clock, Retention.BATCH_ROWS);
            var maintenance = new Maintenance(background, partitions, retention,
                    new Archive(background, background, partitions, clock), settings.archiveAfter(), clock, registry);
            maintenance.ensurePartitions(); // before the first append; the rest of the upkeep runs in the background, daily
            maintenance.putBackWordIndexes(); // an interrupted bulk import's, before appends would flush their pending lists

            // Before the listener, so it closes after it: what the listener hears is dropped in Redis too.
            Redis redis = settings.redisUrl().map(url -> redis(url, settings, started, registry)).orElse(null);
            var invalidations = new Invalidations(direct, threads(started, "parley-invalidations", 1));
            started.push(invalidations);
            var apiKeys = new ApiKeys(database, Ticker.systemTicker());
            apiKeys.forgetOnChange(invalidations);
            var origins = new Origins(database, Ticker.systemTicker());
            origins.forgetOnChange(invalidations);
            // After the prefix, the database's identity: two deployments sharing a Redis and a prefix never meet.
            String redisKeys = redis == null ? null : settings.redisPrefix() + DatabaseIdentity.of(database) + ":";
            SharedViews shared = redis == null ? null
                    : new SharedViews(redis, redisKeys, settings.cacheTtls(), NEVER_THE_SAME_TWICE, registry);
            var cache = new ReadCache(settings.cacheBytes(), settings.cacheTtls(), Ticker.systemTicker(), Runnable::run, registry,
                    shared);
            cache.followChanges(invalidations);
            var local = new LocalMaps(LIVE_KEYS, clockTicker(clock));
            ExpiringMaps live = redis == null ? local : new RedisMaps(redis, redisKeys, local); // its scripts, before open
            if (redis != null) {
                redis.open(); // a new epoch: views written while no instance may have heard of changes are ignored
            }
            var ids = new Ids(clock);
            var appends = new GroupCommit(new BatchWriter(database, ids, cache, partitions),
                    threads(started, "parley-append-", GroupCommit.threads(settings.appendWriters())), settings.appendWriters(),
                    Ticker.systemTicker(), settings.poolTimeout(), registry);
            started.push(appends);
            var counterThreads = threads(started, "parley-counters", 1);
            var counters = new CounterBuffer(database, cache, counterThreads, Ticker.systemTicker(), settings.counterFlush(),
                    registry);
            started.push(counters); // closed after HTTP: its last flush writes what the last requests added
            long check = settings.counterFlush().checkEvery().toMillis();
            counterThreads.scheduleWithFixedDelay(counters::flushDue, check, check, TimeUnit.MILLISECONDS);
            var characters = new Characters(database, cache);
            var users = new Users(database, cache, counters);
            var conversations = new Conversations(database, ids, cache, counters);
            var analyticsRefresh = new AnalyticsRefresh(background, clock, settings.analyticsRefresh());
            // Checked ten times an interval, so figures are at most about 1.1 intervals (plus a refresh) old.
            long tick = Math.max(1, settings.analyticsRefresh().toMillis() / 10);
            threads(started, "parley-analytics", 1).scheduleWithFixedDelay(analyticsRefresh::refreshIfDueLogged, tick, tick,
                    TimeUnit.MILLISECONDS);
            var snippets = new Snippets(); // message and memory search share its configurations and stems
            var memories = new Memories(database, cache, snippets, settings.memoryScopeBytes());
            var recall = new Recall(database, cache, clock, settings.recallCacheBytes(), settings.memoryScopeBytes(), registry);
            recall.followErasures(invalidations);
            Recall.sayHowItScores();
            Thread.ofPlatform().name("parley-recall-compile").daemon().start(Recall::compileScoring); // ends when compiled
            var messageLog = new MessageLog(database, cache, clock);
            var presence = new Presence(live, users, settings.presenceTtl(), clock);
            // On the background pool: a batch of a heavy user's conversations may rightly take longer than a request's
            // statement budget, and one cut there every time would leave the erasure never finished.
            var erasure = new Erasure(background, cache, recall, presence, clock);
            var userTokens = new UserTokens(database, apiKeys, clock);
            userTokens.forgetOnChange(invalidations);
            var languages = Languages.load(database);
            var limits = new Limits(settings.maxContentBytes(), settings.maxMetadataBytes());
            var services = new HttpServer.Services(watch, apiKeys, userTokens, new UserReach(database), origins,
                    cache, characters, users, conversations,
                    messageLog, appends, new Inbox(database), new ReadMarkers(database, cache),
                    new Members(database, cache), new ChatContext(database, cache, characters, users, counters, recall, memories),
                    new Stats(database), new Leaderboards(database), new CharacterMessages(database, clock),
                    new WindowCounts(database, clock),
                    memories, recall,
                    new MessageSearch(database, clock, snippets), languages, limits,
                    new Typing(live, conversations, settings.typingTtl(), clock),
                    presence, new Analytics(database), analyticsRefresh,
                    erasure,
                    new UserExport(users, conversations, messageLog, memories, clock), retention,
                    new Import(database, ids, partitions, memories, languages, limits, clock),
                    clock, registry, slowest, replicas);
            // The admin port first, so it closes after the API port: /metrics and the overview watch the drain.
            var apps = new Apps(database, apiKeys, origins, erasure);
            var admin = startAdmin(settings, database, registry, slowest, clock, apps, started);
            var http = HttpServer.start(services, new HttpServer.Options(settings.host(), settings.port(),
                    settings.maxBodyBytes(), settings.rateLimit(), settings.burst()));
            started.push(http);
            // Last, once nothing can stop the start (a Redis that refuses its URL, a port taken): upkeep begun by a
            // start that then failed met a closed pool, and logged that as a failure of its own.
            threads(started, "parley-maintenance", 1).scheduleWithFixedDelay(maintenance::runLogged, 0, 1, TimeUnit.DAYS);
            return new Parley(started, database, apps, retention, http, admin, counters);
        } catch (RuntimeException e) {
            closeAll(started);
            throw e;
        }
    }

    /**
     * The admin port, the readings of PostgreSQL and of Parley's meters that it shows, taken every PARLEY_ADMIN_SAMPLE,
     * and the apps it manages.
     */
    private static AdminServer startAdmin(Settings settings, Database database, PrometheusMeterRegistry registry,
                                          Slowest slowest, Clock clock, Apps apps, Deque<AutoCloseable> started) {
        var timeline = new Timeline(registry, slowest, new DatabaseStats(database, clock, registry), clock);
        timeline.sampleEvery(threads(started, "parley-monitor-database", 1), threads(started, "parley-monitor", 1),
                settings.admin().sampleEvery());
        var admin = AdminServer.start(settings.admin(), registry, timeline, apps);
        started.push(admin);
        return admin;
    }

    /**
     * The limits every request's database work runs under (PARLEY_STATEMENT_TIMEOUT, PARLEY_LOCK_TIMEOUT). Through a
     * PgBouncer in transaction mode these session settings would stay on whichever server connection ran them: there
     * they come from PgBouncer's connect_query (docs/operations.md, "PgBouncer"). No socket timeout: with one, every
     * read of pgjdbc's is a timed read (non-blocking, then poll), about 70 µs of CPU a request on a 2-core VM and a
     * fifth of uncached read throughput (docs/benchmarks.md); a silent server is the watch's to notice and cut.
     */
    private static Database.Limits requestLimits(Settings settings) {
        RequestLimits limits = settings.requestLimits();
        boolean inSession = settings.pgbouncer() == PgBouncer.OFF;
        return new Database.Limits(inSession ? limits.statementTimeout() : null, inSession ? limits.lockTimeout() : null);
    }

    /**
     * A few connections straight to PostgreSQL without the request limits, for work that may rightly run for minutes
     * or wait on locks: the daily maintenance (archive, retention, purges) and the retention and archive rounds' lock,
     * which is held in its session, and the analytics refresh. Apart from the request pool, so it neither takes a
     * request's connection nor is cut by its budget; never through PgBouncer, where a session lock would leak.
     * Its connections in use are aborted when the watch finds their server silent, as the request pool's are.
     */
    private static Database background(ConnectionTarget direct, QueryLog queryLog, MeterRegistry registry,
                                       Deque<AutoCloseable> started) {
        Database background = Database.connect(direct, new Database.PoolOptions(BACKGROUND_CONNECTIONS, BACKGROUND_WAIT, 1.0)
                .named(BACKGROUND_POOL), queryLog, registry, null);
        started.push(background::close);
        return background;
    }

    /**
     * Applies the migrations or checks none is pending, over connections of its own, before the pool opens;
     * returns the schema version this build needs. The pool plans statements on each new connection
     * (db.WarmConnections), and planning an append while a migration creates its triggers on the same tables
     * deadlocks: a fresh start died of it (V10), and under the dated tests' faked clock, where PostgreSQL never
     * runs its deadlock check, it would hang.
     */
    private static String schema(ConnectionTarget target, Settings settings, QueryLog log, boolean migrate) {
        // A database that is missing, or a role or password it refuses, fails at once and says so, as migrate does:
        // the pool would retry it for FIRST_CONNECTION_WAIT, with the port closed, and then blame slowness.
        ConnectionCheck.require(target);
        try (Database once = Database.connect(target, 2, settings.poolTimeout(), log, null)) {
            once.awaitConnections(2, FIRST_CONNECTION_WAIT); // both: the migrations hold two at once
            var migrations = new Migrations(once.dataSource());
            if (migrate) {
                List<String> pending = migrations.pending();
                if (!pending.isEmpty()) { // one may rewrite a large table for minutes, with the port closed meanwhile
                    LOG.info("applying {} migration(s): {}", pending.size(), String.join(", ", pending));
                }
                long began = System.nanoTime();
                int applied = migrations.migrate();
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
                if (applied > 0 && applied >= pending.size()) {
                    LOG.info("applied {} migration(s) in {} ms", applied, took);
                } else if (!pending.isEmpty()) { // instances started together: each lists them, one applies them
                    LOG.info("applied {} of the {} migration(s) in {} ms: another process applied the rest meanwhile",
                            applied, pending.size(), took);
                }
            } else {
                migrations.requireCurrent();
            }
            return migrations.latestVersion();
        }
    }

    /**
     * The link to Redis at {@code url}: Lettuce's few threads and the probe's thread come from here, and
     * close after the link.
     */
    private static Redis redis(String url, Settings settings, Deque<AutoCloseable> started, MeterRegistry registry) {
        ThreadFactory factory = Thread.ofPlatform().name("parley-redis-", 0).daemon().factory();
        ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(REDIS_IO_THREADS)
                .computationThreadPoolSize(1).threadFactoryProvider(pool -> factory).build();
        started.push(() -> resources.shutdown(0, 2, TimeUnit.SECONDS).get());
        var redis = new Redis(url, settings.redisTimeout(), REDIS_RETRY, resources, threads(started, "parley-redis-probe", 1),
                Ticker.systemTicker(), registry);
        started.push(redis);
        return redis;
    }

    /** Time for what lives in memory by the clock Parley is given (typing and presence), so a test can move it. */
    private static Ticker clockTicker(Clock clock) {
        return () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
    }

    /** {@code count} daemon threads named {@code name}, shut down when Parley closes (after what uses them). */
    private static ScheduledExecutorService threads(Deque<AutoCloseable> started, String name, int count) {
        var factory = count == 1 ? Thread.ofPlatform().name(name).daemon().factory()
                : Thread.ofPlatform().name(name, 0).daemon().factory();
        ScheduledExecutorService threads = Executors.newScheduledThreadPool(count, factory);
        started.push(threads::shutdown);
        return threads;
    }

    public int port() {
        return http.port();
    }

    /** Where /metrics, /admin and /dashboard answer. */
    public int adminPort() {
        return admin.port();
    }

    /** Every HTTP endpoint served, as "METHOD /path". */
    public List<String> endpoints() {
        return http.endpoints();
    }

    public Apps apps() {
        return apps;
    }

    /** This instance's retention, which its daily maintenance applies; a round can be run now. */
    public Retention retention() {
        return retention;
    }

    public Database database() {
        return database;
    }

    /**
     * Graceful, in the reverse of start order: stop taking requests and let in-flight ones finish, drain the
     * append queue, write the counter increments held in memory, stop the background work, close the pool.
     */
    @Override
    public void close() {
        closeAll(started);
    }

    /** After {@link #close}: the counter increments it could not write (the database was down), as its log names them. */
    public long counterIncrementsLost() {
        return counters.lostAtClose();
    }

    private static void closeAll(Deque<AutoCloseable> started) {
        while (!started.isEmpty()) {
            try {
                started.pop().close();
            } catch (Exception e) {
                LOG.warn("a part of Parley did not close cleanly: {}", e.getMessage(), e);
            }
        }
    }
}
