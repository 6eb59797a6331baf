package dev.parley;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import dev.parley.chat.ChatContext;
import dev.parley.chat.Characters;
import dev.parley.chat.Conversations;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.Inbox;
import dev.parley.chat.Limits;
import dev.parley.chat.MessageLog;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Stats;
import dev.parley.chat.Users;
import dev.parley.config.Settings;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Migrations;
import dev.parley.db.Partitions;
import dev.parley.db.QueryLog;
import dev.parley.http.HttpServer;
import dev.parley.memory.Memories;
import dev.parley.memory.Recall;
import dev.parley.metrics.Metrics;
import dev.parley.ops.Maintenance;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.util.List;

/** A running Parley: every part wired by hand, in start order, and closed in the reverse order. */
public final class Parley implements AutoCloseable {
    private final Database database;
    private final Apps apps;
    private final Maintenance maintenance;
    private final GroupCommit appends;
    private final HttpServer http;

    private Parley(Database database, Apps apps, Maintenance maintenance, GroupCommit appends, HttpServer http) {
        this.database = database;
        this.apps = apps;
        this.maintenance = maintenance;
        this.appends = appends;
        this.http = http;
    }

    /** Connects, checks (or applies) the schema, makes partitions ahead, and starts serving HTTP. */
    public static Parley start(Settings settings, ConnectionTarget target, boolean migrate, Clock clock) {
        PrometheusMeterRegistry registry = Metrics.newRegistry();
        Database database = Database.connect(target, settings.poolSize(), settings.poolTimeout(),
                new QueryLog(registry, settings.slowQueryThreshold()), registry);
        try {
            var migrations = new Migrations(database.dataSource());
            if (migrate) {
                migrations.migrate();
            } else {
                migrations.requireCurrent();
            }
            var maintenance = new Maintenance(database, new Partitions(database), clock);
            maintenance.ensurePartitions(); // before the first append; the rest of the upkeep runs in the background
            maintenance.startDaily();

            var ids = new Ids(clock);
            var apiKeys = new ApiKeys(database, Ticker.systemTicker());
            var appends = new GroupCommit(database, ids, settings.appendWriters(), registry);
            var services = new HttpServer.Services(database, apiKeys, new Characters(database), new Users(database),
                    new Conversations(database, ids), new MessageLog(database), appends, new Inbox(database),
                    new ReadMarkers(database), new ChatContext(database), new Stats(database),
                    new Memories(database), new Recall(database, clock, settings.recallCacheBytes(), registry),
                    new MessageSearch(database, clock), Languages.load(database),
                    new Limits(settings.maxContentBytes(), settings.maxMetadataBytes()), registry);
            var http = HttpServer.start(services, settings.host(), settings.port(), settings.maxBodyBytes());
            return new Parley(database, new Apps(database, apiKeys), maintenance, appends, http);
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    /** Every HTTP endpoint served, as "METHOD /path". */
    public List<String> endpoints() {
        return http.endpoints();
    }

    public Apps apps() {
        return apps;
    }

    public Database database() {
        return database;
    }

    /** Graceful: stop taking requests and let in-flight ones finish, drain the append queue, close the pool. */
    @Override
    public void close() {
        http.close();
        appends.close();
        maintenance.close();
        database.close();
    }
}
