package dev.parley.cache;

import dev.parley.config.CacheTtls;
import dev.parley.metrics.Metrics;
import dev.parley.redis.Redis;
import dev.parley.redis.Script;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * The tier behind {@link ReadCache} that instances share: views in Redis, one hash per scope (field: the
 * view's name and its type's shape), so one DEL drops all of a scope's views. A view loaded from
 * PostgreSQL is offered to Redis with its kind's time to live; a change drops its scopes here as it does
 * in memory, both on the instance that made it and on every instance that hears of it.
 *
 * <p><b>Why a late write cannot bring back stale data.</b> Each scope has a version key next to its hash.
 * A loader reads the version ({@link #read}) before it reads PostgreSQL; a change sets a new version and
 * deletes the hash in one script ({@link #drop}) after it commits; a view is written only if the version
 * is still the one its loader read ({@link #put}, compare-and-set in one script). So a load that read
 * PostgreSQL before a commit read its version before that change's drop: if its write comes after the
 * drop, the versions differ and the write is refused; if before, the drop deletes it. Versions are random
 * 64-bit values, never counted: a counter starts again at 1 when its key expires or is evicted, and a load
 * that read 1 before could match a later 1; a random value does not come back, and a write needs the
 * version key to exist.
 *
 * <p><b>Why a change is marked before it commits.</b> The version alone leaves a window: between a commit
 * and its drop, two loads can hold the same version, one that read PostgreSQL before the commit and one
 * after, and the slower, older one could replace the newer view until the drop, so a reader could go back
 * in time. A write path that knows its scopes before its commit marks them ({@link #mark}, a set of change
 * ids with a short time to live) and its drop after the commit unmarks them; while a scope is marked READ
 * serves nothing and PUT keeps nothing, so readers go to PostgreSQL, where each reads what has committed.
 * A change never dropped (its instance died in between) keeps its scopes out of Redis for
 * {@link #CHANGING_TTL}. Every write path of Parley's marks (messages, conversations, members, read markers,
 * counters, users, characters, erasure); a character marks every inbox of its app at once, as its drop drops
 * them. Changes heard of only through PostgreSQL's notices (an import, a row changed by hand) keep the window,
 * as short as the notice is quick.
 *
 * <p><b>Why the epoch.</b> Every key carries the current epoch ({@code <prefix>epoch}, a random value).
 * Drops that could not reach Redis (it was down, or this instance could not reach it) would leave stale
 * views behind, so whenever that may have happened a new epoch is started and everything written before
 * is ignored (and expires): whenever this instance connects to Redis (at start, and when Redis comes
 * back after a failure), and when it may have missed change notices ({@link ReadCache#everythingChanged},
 * after its listener reconnects). An app's inboxes show its characters' names, so a character change drops them all by
 * deleting the app's inbox generation, which every inbox key carries too.
 *
 * <p>The scripts build their keys from the epoch and generation they read, so they declare none: this
 * needs one Redis (with replicas if wanted), not Redis Cluster.
 */
public final class SharedViews {
    // Every key of a scope: <prefix><epoch>:<scope>[:<inbox generation>] (the hash) and the same with
    // ":version". A nonce creates the epoch and generation when missing (reads); without one they stay missing.
    private static final String SCOPE_KEY = """
            local function epoch_of(prefix, nonce)
              local epoch = redis.call('GET', prefix .. 'epoch')
              if not epoch and nonce then
                redis.call('SET', prefix .. 'epoch', nonce)
                epoch = nonce
              end
              return epoch
            end
            local function scope_key(prefix, scope, nonce, generation_ttl)
              local epoch = epoch_of(prefix, nonce)
              if not epoch then return false end
              local key = prefix .. epoch .. ':' .. scope
              local app = string.match(scope, '^inbox:(%d+):')
              if not app then return key end
              local generation_key = prefix .. epoch .. ':inboxes:' .. app
              local generation = redis.call('GET', generation_key)
              if not generation then
                if not nonce then return false end
                redis.call('SET', generation_key, nonce, 'PX', generation_ttl)
                generation = nonce
              end
              return key .. ':' .. generation
            end
            -- Whether a change to the scope (or, for an inbox, to every inbox of its app) is committing.
            local function changing(prefix, scope, key)
              if redis.call('EXISTS', key .. ':changing') == 1 then return true end
              local app = string.match(scope, '^inbox:(%d+):')
              if not app then return false end
              return redis.call('EXISTS', prefix .. epoch_of(prefix, false) .. ':inboxes:' .. app .. ':changing') == 1
            end
            """;

    /**
     * ARGV: prefix, scope, field, nonce, version ttl, generation ttl. Returns key, version[, view, its ttl]; the
     * version is empty while a change to the scope is committing (nothing is served or kept then).
     */
    private static final Script READ = Script.of(SCOPE_KEY + """
            local key = scope_key(ARGV[1], ARGV[2], ARGV[4], ARGV[6])
            if changing(ARGV[1], ARGV[2], key) then return {key, ''} end
            local version = redis.call('GET', key .. ':version')
            if not version then
              redis.call('SET', key .. ':version', ARGV[4], 'PX', ARGV[5])
              version = ARGV[4]
            end
            local view = redis.call('HGET', key, ARGV[3])
            if view then return {key, version, view, redis.call('PTTL', key)} end
            return {key, version}
            """);

    /** ARGV: prefix, scope, field, view, key read, version read, ttl. Returns 1 if kept, 0 if refused. */
    private static final Script PUT = Script.of(SCOPE_KEY + """
            local key = scope_key(ARGV[1], ARGV[2], false, 0)
            if key ~= ARGV[5] or redis.call('GET', key .. ':version') ~= ARGV[6] then return 0 end
            if changing(ARGV[1], ARGV[2], key) then return 0 end
            redis.call('HSET', key, ARGV[3], ARGV[4])
            redis.call('PEXPIRE', key, ARGV[7], 'NX')
            return 1
            """);

    /**
     * ARGV: prefix, change id, generation ttl, changing ttl, the app whose inboxes all change (or ""), then scopes.
     * Marks each scope, and every inbox of that app, as changing.
     */
    private static final Script MARK = Script.of(SCOPE_KEY + """
            if ARGV[5] ~= '' then
              local key = ARGV[1] .. epoch_of(ARGV[1], ARGV[2]) .. ':inboxes:' .. ARGV[5] .. ':changing'
              redis.call('SADD', key, ARGV[2])
              redis.call('PEXPIRE', key, ARGV[4])
            end
            for i = 6, #ARGV do
              local key = scope_key(ARGV[1], ARGV[i], ARGV[2], ARGV[3])
              redis.call('SADD', key .. ':changing', ARGV[2])
              redis.call('PEXPIRE', key .. ':changing', ARGV[4])
            end
            return 1
            """);

    /**
     * ARGV: prefix, nonce, the app whose inboxes all go (or ""), the change id that marked the scopes (or ""),
     * then pairs of scope and version ttl.
     */
    private static final Script DROP = Script.of(SCOPE_KEY + """
            if ARGV[3] ~= '' then
              local epoch = epoch_of(ARGV[1], false)
              if epoch then
                redis.call('DEL', ARGV[1] .. epoch .. ':inboxes:' .. ARGV[3])
                if ARGV[4] ~= '' then redis.call('SREM', ARGV[1] .. epoch .. ':inboxes:' .. ARGV[3] .. ':changing', ARGV[4]) end
              end
            end
            for i = 5, #ARGV, 2 do
              local key = scope_key(ARGV[1], ARGV[i], false, 0)
              if key then
                redis.call('SET', key .. ':version', ARGV[2], 'PX', ARGV[i + 1])
                redis.call('DEL', key)
                if ARGV[4] ~= '' then redis.call('SREM', key .. ':changing', ARGV[4]) end
              end
            end
            return 1
            """);

    // A generation lost to expiry only makes the app's inboxes miss once; it need not live long.
    private static final Duration GENERATION_TTL = Duration.ofDays(1);
    // A change marked and never dropped (its instance died between the two) keeps its scopes out of Redis this long.
    static final Duration CHANGING_TTL = Duration.ofSeconds(30);

    /**
     * Where a view is, or would be written: its scope's key and version as read, and the view with the time
     * it has left, when found.
     */
    record Lookup(Scope scope, String field, String key, String version, byte[] view, Duration remaining) {
        boolean found() {
            return view != null;
        }

        /** Whether a change to the scope is committing: then what is loaded is not offered. */
        boolean changing() {
            return version.isEmpty();
        }
    }

    private final Redis redis;
    private final String prefix;
    private final CacheTtls ttls;
    private final RandomGenerator random;
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    /** Views in {@code redis} under keys starting with {@code prefix}; {@code random} makes versions and epochs. */
    public SharedViews(Redis redis, String prefix, CacheTtls ttls, RandomGenerator random, MeterRegistry registry) {
        this.redis = redis;
        this.prefix = prefix;
        this.ttls = ttls;
        this.random = random;
        this.registry = registry;
        redis.runs(READ, PUT, MARK, DROP);
        redis.whenBack(this::startEpoch); // drops may have been lost while it was away
    }

    /** The view {@code name} of {@code scope}, or where to write it; empty while Redis is not used. */
    Optional<Lookup> read(Scope scope, String name, Class<?> type) {
        String field = name + "#" + ViewReader.shape(type);
        Optional<Lookup> lookup = redis.run("views.read", commands -> {
            List<Object> reply = READ.run(commands, ScriptOutputType.MULTI, new String[0], Script.arg(prefix),
                    Script.arg(scopeName(scope)), Script.arg(field), Script.arg(nonce()), Script.arg(ttl(scope).toMillis()),
                    Script.arg(GENERATION_TTL.toMillis()));
            boolean found = reply.size() > 2;
            return new Lookup(scope, field, text(reply.get(0)), text(reply.get(1)), found ? (byte[]) reply.get(2) : null,
                    found ? Duration.ofMillis(Math.max(0, (Long) reply.get(3))) : null);
        });
        lookup.ifPresent(found -> requested(name, found.found() ? "hit" : "miss"));
        return lookup;
    }

    /** Writes {@code view} where {@code lookup} found none, unless its scope changed since (see the class comment). */
    void put(Lookup lookup, byte[] view) {
        if (lookup.changing()) {
            return;
        }
        redis.run("views.put", commands -> PUT.<Long>run(commands, ScriptOutputType.INTEGER, new String[0],
                        Script.arg(prefix), Script.arg(scopeName(lookup.scope())), Script.arg(lookup.field()), view,
                        Script.arg(lookup.key()), Script.arg(lookup.version()), Script.arg(ttl(lookup.scope()).toMillis())))
                .ifPresent(kept -> counter(Metrics.REDIS_WRITES, Metrics.REDIS_WRITES_HELP, "result",
                        kept == 1 ? "kept" : "refused").increment());
    }

    /** Read back from Redis JSON that did not fit its type: counted, and loaded as a miss. */
    void unreadable(String name) {
        requested(name, "unreadable");
    }

    /**
     * Marks {@code scopes}, and with {@code inboxesOfApp} (unless null) every inbox of that app, as changing, before
     * the change commits: until {@link #drop} with the id returned, no view of them is served from Redis or written
     * there. {@code change}: the id of a change that marked scopes before, or null for a new one. Returns the
     * change's id; empty when Redis could not be told.
     */
    Optional<String> mark(List<Scope> scopes, Long inboxesOfApp, String change) {
        String id = change == null ? nonce() : change;
        List<byte[]> args = new ArrayList<>(List.of(Script.arg(prefix), Script.arg(id),
                Script.arg(GENERATION_TTL.toMillis()), Script.arg(CHANGING_TTL.toMillis()),
                Script.arg(inboxesOfApp == null ? "" : inboxesOfApp)));
        scopes.forEach(scope -> args.add(Script.arg(scopeName(scope))));
        return redis.run("views.mark", commands -> MARK.run(commands, ScriptOutputType.INTEGER, new String[0],
                args.toArray(byte[][]::new))).map(done -> id);
    }

    /**
     * Drops the views of {@code scopes}, and with {@code inboxesOfApp} (unless null) every inbox of that app; with
     * {@code change} (unless null), the change that {@link #mark} marked them for has committed.
     */
    void drop(List<Scope> scopes, Long inboxesOfApp, String change) {
        List<byte[]> args = new ArrayList<>(List.of(Script.arg(prefix), Script.arg(nonce()),
                Script.arg(inboxesOfApp == null ? "" : inboxesOfApp), Script.arg(change == null ? "" : change)));
        for (Scope scope : scopes) {
            args.add(Script.arg(scopeName(scope)));
            args.add(Script.arg(ttl(scope).toMillis()));
        }
        redis.run("views.drop", commands -> DROP.run(commands, ScriptOutputType.INTEGER, new String[0],
                args.toArray(byte[][]::new)));
    }

    /** Ignores every view written so far; if Redis cannot be told now, it is told when it comes back. */
    void newEpoch() {
        redis.run("views.epoch", this::startEpoch);
    }

    private String startEpoch(RedisCommands<String, byte[]> commands) {
        return commands.set(prefix + "epoch", Script.arg(nonce()));
    }

    /** "conversation:7:42": kind, app, id. */
    private static String scopeName(Scope scope) {
        return scope.kind().name().toLowerCase(Locale.ROOT) + ":" + scope.appId() + ":" + scope.id();
    }

    private Duration ttl(Scope scope) {
        return ReadCache.ttl(ttls, scope.kind());
    }

    private String nonce() {
        return Long.toUnsignedString(random.nextLong(), 36);
    }

    private static String text(Object bytes) {
        return new String((byte[]) bytes, StandardCharsets.UTF_8);
    }

    private void requested(String view, String result) {
        counter(Metrics.REDIS_REQUESTS, Metrics.REDIS_REQUESTS_HELP, "cache", ReadCache.family(view), "result", result).increment();
    }

    private Counter counter(String name, String help, String... tags) {
        return counters.computeIfAbsent(name + " " + String.join(" ", tags),
                k -> Counter.builder(name).description(help).tags(tags).register(registry));
    }
}
