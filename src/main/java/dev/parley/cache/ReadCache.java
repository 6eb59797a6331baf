package dev.parley.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.config.CacheTtls;
import dev.parley.db.Consistency;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads served from memory. Each cached view ("history:50" of a conversation, say) belongs to one
 * {@link Scope}; a change to the scope drops all of its views, on this instance at once and on the
 * others when they hear of it (LISTEN/NOTIFY, announced by triggers as the change commits: V10).
 *
 * <p>A view is loaded once however many readers miss it at the same time. A load that began before
 * a change cannot put its stale result back: the change replaced the scope's holder, and a result is
 * kept only by the holder its load began with. Nor can its readers go back in time afterwards: the
 * views loaded since that change, which may be older than what it read, are dropped (see keep). Views
 * live for their scope kind's time to live and the whole cache is bounded in bytes (PARLEY_CACHE_SIZE);
 * a size of 0 caches nothing.
 *
 * <p>With a {@link SharedViews} (PARLEY_REDIS_URL), views asked for with their type are shared: a
 * local miss reads Redis before PostgreSQL, and a view loaded from PostgreSQL is offered to Redis for
 * the other instances. A view read from Redis is its JSON as the loading instance rendered it, read
 * back into its type (so the bytes and ETag are the load's own), and lives here no longer than it has
 * left there. Every change drops its scopes in Redis first and in memory second: a reader that misses
 * here after the drop cannot find the old view in Redis either. Views asked for without a type (a context's
 * conversation part, its head and last messages as one view, which no response sends as it is) stay in this
 * instance's memory.
 */
public final class ReadCache {
    private static final Logger LOG = LoggerFactory.getLogger(ReadCache.class);

    /**
     * The views of one scope by name, each loaded (a completed future) or loading: one map, so a reader finds
     * the view or its load, never neither while a load hands over. A change replaces the whole holder. Even
     * an empty holder (left by a load that failed: an unknown id, say) weighs something, so a flood of
     * unknown ids is bounded by the cache's size like everything else.
     */
    private static final class Views {
        private static final long HOLDER_BYTES = 256;
        final Map<String, CompletableFuture<Rendered<?>>> byName = new ConcurrentHashMap<>();
        final AtomicLong weight = new AtomicLong(HOLDER_BYTES);
        /** When the soonest to end of the views read from Redis ends there (ticker nanos): the holder ends then too. */
        volatile long endsBy = Long.MAX_VALUE;
    }

    /** A view a miss found, and how long it may live here: null for its kind's whole time to live. */
    private record Found<T>(Rendered<T> view, Duration left) {
        Found<T> withoutModel(Class<T> type) {
            return new Found<>(view.withoutModel(type), left);
        }
    }

    private final Cache<Scope, Views> scopes; // null: caching is off
    private final SharedViews shared; // null: views stay in this instance
    private final Ticker ticker;
    private final Metered metered;
    private volatile String origin = ""; // the listener's, once this cache follows changes (followChanges)

    /** A cache of at most {@code bytes} (0: none) whose scopes live as long as {@code ttls} says, in this instance alone. */
    public ReadCache(long bytes, CacheTtls ttls, Ticker ticker, Executor executor, MeterRegistry registry) {
        this(bytes, ttls, ticker, executor, registry, null);
    }

    /** As above, shared with other instances through {@code shared} (unless caching is off). */
    public ReadCache(long bytes, CacheTtls ttls, Ticker ticker, Executor executor, MeterRegistry registry,
                     SharedViews shared) {
        this.metered = new Metered(registry);
        this.ticker = ticker;
        this.shared = bytes == 0 ? null : shared;
        this.scopes = bytes == 0 ? null : Caffeine.newBuilder()
                .maximumWeight(bytes)
                .weigher((Scope scope, Views views) -> (int) Math.min(Integer.MAX_VALUE, views.weight.get()))
                .expireAfter(lifetimes(ttls))
                .ticker(ticker)
                .executor(executor)
                .removalListener((Scope scope, Views views, RemovalCause cause) -> metered.removed(scope, cause))
                .build();
        if (scopes != null) {
            Gauge.builder(Metrics.CACHE_BYTES, scopes, c -> c.policy().eviction().orElseThrow().weightedSize().orElse(0))
                    .description(Metrics.CACHE_BYTES_HELP).register(registry);
        }
    }

    /** A cache that keeps nothing: every read loads (the bench's "raw" target, commands). */
    public static ReadCache none() {
        return new ReadCache(0, CacheTtls.DEFAULTS, Ticker.systemTicker(), Runnable::run,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    /** Whether anything is cached at all (PARLEY_CACHE_SIZE above 0). */
    public boolean enabled() {
        return scopes != null;
    }

    /**
     * The view {@code name} ("family" or "family:variant") of {@code scope}, kept in this instance alone:
     * from memory, or from {@code loader} (once, whoever else asks meanwhile), rendered and kept. A loader's
     * exception (not found, say) reaches every caller waiting on it and nothing is kept.
     */
    public <T> Rendered<T> get(Scope scope, String name, Supplier<T> loader) {
        if (scopes == null) {
            return Rendered.of(loader.get());
        }
        return cached(scope, name, () -> new Found<>(load(name, loader), null), null);
    }

    /**
     * As {@link #get(Scope, String, Supplier)}, and shared with the other instances when there is a
     * shared tier: a miss here reads it (the JSON read back into {@code type}) before {@code loader}, and
     * what {@code loader} reads is offered to it.
     */
    public <T> Rendered<T> get(Scope scope, String name, Class<T> type, Supplier<T> loader) {
        if (scopes == null) {
            return Rendered.of(loader.get());
        }
        return cached(scope, name, () -> miss(scope, name, type, loader), null);
    }

    /**
     * As {@link #get(Scope, String, Class, Supplier)}, for a view that requests only send as it is (a history or
     * inbox page): it is kept as its JSON and ETag alone ({@link Rendered#withoutModel}), and its model, which
     * few callers want, is read back from the JSON for them. The reader whose miss loaded it gets the model its
     * load made, not one read back.
     */
    public <T> Rendered<T> getAsSent(Scope scope, String name, Class<T> type, Supplier<T> loader) {
        if (scopes == null) {
            return Rendered.of(loader.get());
        }
        return cached(scope, name, () -> miss(scope, name, type, loader), type);
    }

    private <T> Found<T> miss(Scope scope, String name, Class<T> type, Supplier<T> loader) {
        return shared == null ? new Found<>(load(name, loader), null) : fetch(scope, name, type, loader);
    }

    /**
     * The view from memory, or from {@code onMiss} (once, whoever else asks meanwhile), kept as loaded or, given the
     * type it reads back into ({@code asSent}), as its JSON alone.
     */
    @SuppressWarnings("unchecked")
    private <T> Rendered<T> cached(Scope scope, String name, Supplier<Found<T>> onMiss, Class<T> asSent) {
        Claim claim = claim(new Key(scope, name));
        if (claim.running() != null) {
            return (Rendered<T>) join(claim.running());
        }
        try {
            Found<T> found = onMiss.get();
            settle(claim, asSent == null ? found : found.withoutModel(asSent));
            return found.view();
        } catch (RuntimeException | Error e) {
            fail(claim, e);
            throw e;
        }
    }

    /** One view of one scope, for {@link #getEach}. */
    public record Key(Scope scope, String name) {
    }

    /**
     * A reader's hold on a view: the view or its load by another reader ({@code running}), or, when it is null,
     * the load this reader must make and complete ({@code mine}) in the holder its scope had when it missed.
     */
    private record Claim(Key key, Views views, CompletableFuture<Rendered<?>> mine, CompletableFuture<Rendered<?>> running) {
    }

    /** Finds the view of {@code key}, or claims its load: counted as a hit when it was loaded, a miss otherwise. */
    private Claim claim(Key key) {
        Views views = scopes.get(key.scope(), s -> new Views());
        var mine = new CompletableFuture<Rendered<?>>();
        CompletableFuture<Rendered<?>> known = views.byName.putIfAbsent(key.name(), mine);
        if (known != null && known.isDone()) {
            metered.hit(key.name());
        } else {
            metered.miss(key.name());
        }
        return new Claim(key, views, mine, known);
    }

    /** Ends a claimed load with what it found: kept unless its scope changed meanwhile (see keep), then answered. */
    private void settle(Claim claim, Found<?> found) {
        if (!keep(claim.key().scope(), claim.views(), found)) { // before anyone hears the result: see keep
            claim.views().byName.remove(claim.key().name(), claim.mine());
        }
        claim.mine().complete(found.view());
    }

    /** Ends a claimed load that failed: nothing kept (the next reader loads again), and its waiting readers hear why. */
    private void fail(Claim claim, Throwable failure) {
        claim.views().byName.remove(claim.key().name(), claim.mine());
        claim.mine().completeExceptionally(failure);
    }

    /**
     * The views {@code keys} name, kept in this instance alone: those held from memory, and all the others from one
     * call of {@code loader} with the keys it misses, which gives each a model (a key it leaves out fails). Every missed
     * view is claimed before the loader runs, so a change during the load keeps its result out as {@link #get} does,
     * and readers of a view being loaded elsewhere wait only once this call has answered its own.
     */
    @SuppressWarnings("unchecked")
    public <T> Map<Key, T> getEach(List<Key> keys, Function<List<Key>, Map<Key, T>> loader) {
        if (scopes == null) {
            return loader.apply(keys);
        }
        List<Claim> claimed = new ArrayList<>();
        List<Claim> elsewhere = new ArrayList<>();
        for (Key key : new LinkedHashSet<>(keys)) {
            Claim claim = claim(key);
            (claim.running() == null ? claimed : elsewhere).add(claim);
        }
        Map<Key, T> found = new HashMap<>();
        if (!claimed.isEmpty()) {
            try {
                claimed.forEach(claim -> metered.load(claim.key().name()));
                Map<Key, T> loaded = Consistency.primaryOnly(() -> loader.apply(claimed.stream().map(Claim::key).toList()));
                for (Claim claim : claimed) {
                    Rendered<T> view = Rendered.of(Objects.requireNonNull(loaded.get(claim.key()), () -> "no view loaded for " + claim.key()));
                    settle(claim, new Found<>(view, null));
                    found.put(claim.key(), view.model());
                }
            } catch (RuntimeException | Error e) {
                claimed.stream().filter(claim -> !claim.mine().isDone()).forEach(claim -> fail(claim, e));
                throw e;
            }
        }
        elsewhere.forEach(claim -> found.put(claim.key(), (T) join(claim.running()).model()));
        return found;
    }

    /** From Redis if it holds the view and it reads back; else from PostgreSQL, offered to Redis. */
    private <T> Found<T> fetch(Scope scope, String name, Class<T> type, Supplier<T> loader) {
        Optional<SharedViews.Lookup> lookup = shared.read(scope, name, type); // before PostgreSQL: see SharedViews
        if (lookup.isPresent() && lookup.get().found()) {
            byte[] body = lookup.get().view();
            Optional<T> model = ViewReader.read(body, type)
                    .filter(read -> !(read instanceof Versioned document) || document.id() == scope.id()); // not another's
            if (model.isPresent()) {
                return new Found<>(new Rendered<>(model.get(), body, Rendered.etagOf(model.get(), body)), lookup.get().remaining());
            }
            shared.unreadable(name);
        }
        Rendered<T> loaded = load(name, loader);
        lookup.ifPresent(where -> shared.put(where, loaded.body()));
        return new Found<>(loaded, null);
    }

    /**
     * Loads from the primary, never a read replica: a lagging replica's answer, loaded after a change was
     * heard, would be kept for the view's whole time to live.
     */
    private <T> Rendered<T> load(String name, Supplier<T> loader) {
        metered.load(name);
        return Rendered.of(Consistency.primaryOnly(loader));
    }

    /**
     * Whether the view may stay: only if its scope has not changed since the load began (the holder is the
     * same). A view that stays is weighed, and ends no later than Redis said it does.
     *
     * <p>A load that ends after a change may have read more than the views loaded since the change: it may
     * have waited for a connection while they loaded and a second change committed, not yet heard of. Its
     * readers must not then be sent back to those views, so they are dropped too, before the readers hear.
     */
    private boolean keep(Scope scope, Views views, Found<?> found) {
        var kept = new boolean[1];
        scopes.asMap().computeIfPresent(scope, (s, current) -> {
            if (current != views) {
                metered.overtaken(scope);
                return null;
            }
            kept[0] = true;
            current.weight.addAndGet(found.view().weight());
            if (found.left() != null) {
                current.endsBy = Math.min(current.endsBy, ticker.read() + found.left().toNanos());
            }
            return current; // returned to the map again, so Caffeine weighs it and times it again
        });
        return kept[0];
    }

    /** A scope lives its kind's time to live from its first view, or less if a view read from Redis ends there sooner. */
    private Expiry<Scope, Views> lifetimes(CacheTtls ttls) {
        return new Expiry<>() {
            @Override
            public long expireAfterCreate(Scope scope, Views views, long now) {
                return ttl(ttls, scope.kind()).toNanos();
            }

            @Override
            public long expireAfterUpdate(Scope scope, Views views, long now, long left) {
                return Math.max(0, Math.min(left, views.endsBy - now));
            }

            @Override
            public long expireAfterRead(Scope scope, Views views, long now, long left) {
                return left;
            }
        };
    }

    private static Rendered<?> join(CompletableFuture<Rendered<?>> running) {
        try {
            return running.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw e;
        }
    }

    /** A conversation changed (a message, its state, counters, title): it and its user's inbox are stale. */
    public void conversationChanged(long appId, long conversationId, long userId) {
        drop(conversationScopes(appId, conversationId, userId, List.of()), null);
    }

    /** What a change to a conversation makes stale: it, its user's inbox and its guests' inboxes. */
    public static List<Scope> conversationScopes(long appId, long conversationId, long userId, Collection<Long> guestIds) {
        List<Scope> changed = new ArrayList<>(List.of(Scope.conversation(appId, conversationId), Scope.inbox(appId, userId)));
        guestIds.forEach(guest -> changed.add(Scope.inbox(appId, guest)));
        return changed;
    }

    /**
     * A change in the making, for a write path that knows its scopes before it commits: {@link Changing#mark}
     * them inside the transaction, and closing it (after the commit, or the failure) drops them, here and in
     * Redis. While marked, Redis serves and keeps no view of them (see {@link SharedViews}, "Why a change is
     * marked before it commits").
     */
    public Changing changing() {
        return new Changing();
    }

    /** The scopes a change marked, dropped when it closes. */
    public final class Changing implements AutoCloseable {
        private final List<Scope> scopes = new ArrayList<>();
        private Long inboxesOfApp; // an app all of whose inboxes change (a character's name shows in them), or null
        private String id; // the change's id in Redis, once a mark reached it

        private Changing() {
        }

        /** Marks {@code changed} before the commit; they are dropped when this closes. */
        public void mark(List<Scope> changed) {
            scopes.addAll(changed);
            if (shared != null && !changed.isEmpty()) {
                shared.mark(changed, null, id).ifPresent(marked -> id = marked);
            }
        }

        /** Marks a character before the commit, with every inbox of its app, which shows its name (see {@link #characterChanged}). */
        public void markCharacter(long appId, long characterId) {
            List<Scope> changed = List.of(Scope.character(appId, characterId));
            scopes.addAll(changed);
            inboxesOfApp = appId;
            if (shared != null) {
                shared.mark(changed, appId, id).ifPresent(marked -> id = marked);
            }
        }

        /**
         * What the change's transaction may set as {@code parley.origin} ({@link dev.parley.db.Query#genericPlansFrom})
         * when it has marked every scope its triggers announce: this instance then skips those notices (V25), having
         * dropped the scopes itself, and no longer drops again what a reader loaded since. "" when it hears no notices.
         */
        public String origin() {
            return origin;
        }

        /** Drops what was marked: call after the commit, before anyone is answered. */
        @Override
        public void close() {
            if (!scopes.isEmpty()) {
                drop(List.copyOf(new LinkedHashSet<>(scopes)), inboxesOfApp, id); // a batch's conversations may share an inbox
            }
        }
    }

    /** A user's inbox changed without its conversations' own views (a notice of a read marker or a new conversation). */
    public void inboxChanged(long appId, long userId) {
        drop(List.of(Scope.inbox(appId, userId)), null);
    }

    /** A character changed: its views, and every inbox of its app, which shows characters' names. */
    public void characterChanged(long appId, long characterId) {
        drop(List.of(Scope.character(appId, characterId)), appId);
    }

    public void userChanged(long appId, long userId) {
        drop(List.of(Scope.user(appId, userId)), null);
    }

    /** Anything may have changed (the notices were not heard for a while): drop everything, in Redis by a new epoch. */
    public void everythingChanged() {
        if (shared != null) {
            shared.newEpoch();
        }
        if (scopes != null) {
            scopes.invalidateAll();
        }
    }

    private void drop(List<Scope> changed, Long inboxesOfApp) {
        drop(changed, inboxesOfApp, null);
    }

    /**
     * Drops in Redis first, then here: once a scope is gone here, a miss cannot find the old view there either.
     * With {@code inboxesOfApp} (unless null), every inbox of that app goes too. {@code change}: the mark of a
     * {@link Changing} this drop ends, or null.
     */
    private void drop(List<Scope> changed, Long inboxesOfApp, String change) {
        if (shared != null) {
            shared.drop(changed, inboxesOfApp, change);
        }
        if (scopes != null) { // counted when held: a change to what nobody read drops nothing
            changed.forEach(scope -> {
                if (scopes.asMap().remove(scope) != null) {
                    metered.invalidated(scope);
                }
            });
            if (inboxesOfApp != null) {
                scopes.asMap().keySet().removeIf(scope -> {
                    boolean inbox = scope.kind() == Scope.Kind.INBOX && scope.appId() == inboxesOfApp;
                    if (inbox) {
                        metered.invalidated(scope);
                    }
                    return inbox;
                });
            }
        }
    }

    /**
     * Hears the changes other instances, and the database's own triggers, announce: "c:app:conversation:user",
     * "i:app:user", "ch:app:character", "u:app:user" (V10).
     */
    public void followChanges(Invalidations invalidations) {
        origin = invalidations.origin();
        for (String kind : List.of("c", "i", "ch", "u")) {
            invalidations.subscribe(kind, id -> heard(kind, id), this::everythingChanged);
        }
    }

    /** One notice of {@code kind} about {@code ids} ("app:conversation:user" for "c"); a malformed one is ignored. */
    void heard(String kind, String ids) {
        metered.heard(kind);
        long[] n = ids(ids);
        switch (kind) {
            case "c" -> {
                if (n.length == 3) {
                    conversationChanged(n[0], n[1], n[2]);
                    return;
                }
            }
            case "i" -> {
                if (n.length == 2) {
                    inboxChanged(n[0], n[1]);
                    return;
                }
            }
            case "ch" -> {
                if (n.length == 2) {
                    characterChanged(n[0], n[1]);
                    return;
                }
            }
            case "u" -> {
                if (n.length == 2) {
                    userChanged(n[0], n[1]);
                    return;
                }
            }
            default -> {
            }
        }
        LOG.debug("ignored a change notice '{}:{}'", kind, ids);
    }

    /** The ids of "3:42:7", or none if any part is not one. */
    private static long[] ids(String text) {
        String[] parts = text.split(":");
        long[] ids = new long[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                ids[i] = Long.parseLong(parts[i]);
            }
        } catch (NumberFormatException e) {
            return new long[0];
        }
        return ids;
    }

    static Duration ttl(CacheTtls ttls, Scope.Kind kind) {
        return switch (kind) {
            case CHARACTER -> ttls.character();
            case USER -> ttls.user();
            case CONVERSATION -> ttls.conversation();
            case INBOX -> ttls.inbox();
        };
    }

    /** The cache's meters: hits and misses per view family, scopes dropped by changes and by eviction. */
    private static final class Metered {
        private final MeterRegistry registry;
        private final Map<String, Counter> hits = new ConcurrentHashMap<>();
        private final Map<String, Counter> misses = new ConcurrentHashMap<>();
        private final Map<String, Counter> loads = new ConcurrentHashMap<>();
        private final Map<String, Counter> notices = new ConcurrentHashMap<>();
        private final Map<String, Counter> removals = new ConcurrentHashMap<>();

        Metered(MeterRegistry registry) {
            this.registry = registry;
        }

        void hit(String view) {
            hits.computeIfAbsent(family(view), family -> requests(family, "hit")).increment();
        }

        void miss(String view) {
            misses.computeIfAbsent(family(view), family -> requests(family, "miss")).increment();
        }

        void load(String view) {
            loads.computeIfAbsent(family(view), family -> Counter.builder(Metrics.CACHE_LOADS)
                    .description(Metrics.CACHE_LOADS_HELP).tag("cache", family).register(registry)).increment();
        }

        void heard(String kind) {
            notices.computeIfAbsent(kind, k -> Counter.builder(Metrics.CACHE_NOTICES)
                    .description(Metrics.CACHE_NOTICES_HELP).tag("kind", k).register(registry)).increment();
        }

        void invalidated(Scope scope) {
            removal(scope.kind(), "changed").increment();
        }

        /** Views loaded since a change, dropped by a load that ended after it with what may be newer (see keep). */
        void overtaken(Scope scope) {
            removal(scope.kind(), "late_load").increment();
        }

        void removed(Scope scope, RemovalCause cause) {
            if (cause.wasEvicted()) {
                removal(scope.kind(), cause == RemovalCause.EXPIRED ? "expired" : "evicted").increment();
            }
        }

        private Counter removal(Scope.Kind kind, String cause) {
            String scope = kind.name().toLowerCase(java.util.Locale.ROOT);
            return removals.computeIfAbsent(scope + ' ' + cause, k -> Counter.builder(Metrics.CACHE_REMOVALS)
                    .description(Metrics.CACHE_REMOVALS_HELP).tag("scope", scope).tag("cause", cause).register(registry));
        }

        private Counter requests(String family, String result) {
            return Counter.builder(Metrics.CACHE_REQUESTS).description(Metrics.CACHE_REQUESTS_HELP)
                    .tag("cache", family).tag("result", result).register(registry);
        }

    }

    /** "history:50" is counted as history. */
    static String family(String view) {
        int colon = view.indexOf(':');
        return colon < 0 ? view : view.substring(0, colon);
    }
}
