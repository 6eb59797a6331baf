package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.chat.CharacterProfile;
import dev.parley.config.CacheTtls;
import dev.parley.json.JsonText;
import dev.parley.metrics.Metrics;
import dev.parley.redis.Redis;
import dev.parley.support.TestRedis;
import dev.parley.support.Wait;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shared tier on a real Redis, each "instance" a ReadCache with its own link to it and a clock the
 * test moves: what one loads the others read without loading, a change drops it for all, a load that
 * began before a change never reaches Redis, and drops lost while Redis was out of reach leave nothing
 * stale once it is back.
 */
class SharedViewsTest {
    private static final CacheTtls TTLS = CacheTtls.DEFAULTS;
    private static final ClientResources RESOURCES = DefaultClientResources.builder().ioThreadPoolSize(2)
            .computationThreadPoolSize(1).build();
    private static final Duration RETRY = Duration.ofMillis(500);

    private final String prefix = TestRedis.newPrefix();
    private final ScheduledExecutorService probes = Executors.newSingleThreadScheduledExecutor();
    private final List<Redis> links = new ArrayList<>();
    private final Random random = new Random(42);

    /** One Parley's cache: its own link to Redis, meters, clock, and a count of what it loaded from "PostgreSQL". */
    private final class Instance {
        final AtomicLong nanos = new AtomicLong();
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        final AtomicInteger loads = new AtomicInteger();
        final Redis redis;
        final ReadCache cache;

        Instance(String clientName) {
            redis = new Redis(TestRedis.get().url() + "?clientName=" + clientName, Duration.ofSeconds(2), RETRY, RESOURCES,
                    probes, nanos::get, registry);
            links.add(redis);
            cache = new ReadCache(64L << 20, TTLS, nanos::get, Runnable::run, registry,
                    new SharedViews(redis, prefix, TTLS, random, registry));
            redis.open();
        }

        Instance() {
            this("parley-test");
        }

        <T> Supplier<T> loading(T value) {
            return () -> {
                loads.incrementAndGet();
                return value;
            };
        }

        Rendered<CharacterProfile> character(Scope scope, CharacterProfile loaded) {
            return cache.get(scope, "character", CharacterProfile.class, loading(loaded));
        }

        double count(String meter, String tag, String value) {
            Counter counter = registry.find(meter).tag(tag, value).counter();
            return counter == null ? 0 : counter.count();
        }
    }

    @AfterEach
    void close() {
        links.forEach(Redis::close);
        probes.shutdownNow();
        TestRedis.get().forget(prefix);
    }

    @AfterAll
    static void shutDown() {
        RESOURCES.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** A character as PostgreSQL renders one: jsonb text with its spaces, escapes, non-ASCII, a long number. */
    private static CharacterProfile luna(String name) {
        return new CharacterProfile(3, "luna-1", name, "You are \"Luna\".\nCalm.",
                new JsonText("{\"mood\": \"calm\", \"stars\": [1, 2.50, 1" + "0".repeat(200) + "], \"note\": \"é \\u0001 😀\"}"),
                new JsonText("[]"), List.of("What is a nebula?"), Instant.parse("2026-11-23T13:27:03.765710Z"),
                Instant.parse("2026-11-23T13:27:04.080680Z"), 7);
    }

    @Test
    void a_view_one_instance_loaded_is_read_by_another_without_a_load_and_is_the_same_rendering() {
        var first = new Instance();
        var second = new Instance();
        Scope scope = Scope.character(1, 3);

        Rendered<CharacterProfile> loaded = first.character(scope, luna("Luna"));
        Rendered<CharacterProfile> shared = second.character(scope, luna("never read"));

        assertThat(second.loads).as("the second instance read PostgreSQL").hasValue(0);
        assertThat(shared.body()).isEqualTo(loaded.body());
        assertThat(shared.etag()).isEqualTo(loaded.etag());
        assertThat(shared.model()).isEqualTo(loaded.model());
        assertThat(second.count(Metrics.REDIS_REQUESTS, "result", "hit")).isEqualTo(1);
        assertThat(first.count(Metrics.REDIS_WRITES, "result", "kept")).isEqualTo(1);
    }

    @Test
    void a_change_on_one_instance_drops_the_scope_in_redis_for_all() {
        var first = new Instance();
        var second = new Instance();
        Scope conversation = Scope.conversation(1, 42);
        first.cache.get(conversation, "history:50", String.class, first.loading("page 1"));

        first.cache.conversationChanged(1, 42, 7);
        String read = second.cache.get(conversation, "history:50", String.class, second.loading("page 2")).model();

        assertThat(read).isEqualTo("page 2");
        assertThat(second.loads).hasValue(1);
    }

    @Test
    void a_load_that_began_before_a_change_does_not_end_up_in_redis() {
        var reader = new Instance();
        var writer = new Instance();
        var later = new Instance();
        Scope conversation = Scope.conversation(1, 42);

        String served = reader.cache.get(conversation, "history:50", String.class, () -> {
            String page = "before the message"; // read from PostgreSQL ...
            writer.cache.conversationChanged(1, 42, 7); // ... as another instance appends, commits and drops the scope
            return page;
        }).model();
        String next = later.cache.get(conversation, "history:50", String.class, later.loading("with the message")).model();

        assertThat(served).as("the reader still answers what it read").isEqualTo("before the message");
        assertThat(reader.count(Metrics.REDIS_WRITES, "result", "refused")).isEqualTo(1);
        assertThat(next).as("nobody finds the stale page in Redis").isEqualTo("with the message");
        assertThat(later.loads).hasValue(1);
    }

    @Test
    void while_a_change_commits_redis_serves_and_keeps_no_view_of_its_scopes() {
        var first = new Instance();
        var writer = new Instance();
        var during = new Instance();
        var after = new Instance();
        var later = new Instance();
        Scope conversation = Scope.conversation(1, 42);
        first.cache.get(conversation, "history:50", String.class, first.loading("page 1"));

        String duringChange;
        try (ReadCache.Changing change = writer.cache.changing()) {
            change.mark(ReadCache.conversationScopes(1, 42, 7, List.of()));
            // the transaction commits here; until the drop, readers go to PostgreSQL
            duringChange = during.cache.get(conversation, "history:50", String.class, during.loading("page 2")).model();
        }
        String afterChange = after.cache.get(conversation, "history:50", String.class, after.loading("page 2")).model();
        String next = later.cache.get(conversation, "history:50", String.class, later.loading("never read")).model();

        assertThat(duringChange).as("not page 1 from Redis").isEqualTo("page 2");
        assertThat(during.loads).hasValue(1);
        assertThat(during.count(Metrics.REDIS_WRITES, "result", "kept")).as("nothing kept while marked").isZero();
        assertThat(afterChange).isEqualTo("page 2");
        assertThat(after.count(Metrics.REDIS_WRITES, "result", "kept")).isEqualTo(1);
        assertThat(next).isEqualTo("page 2");
        assertThat(later.loads).hasValue(0);
    }

    @Test
    void a_change_that_is_never_dropped_keeps_its_scopes_out_of_redis_only_for_a_while() {
        var writer = new Instance();
        ReadCache.Changing abandoned = writer.cache.changing(); // its instance dies before the commit's drop
        abandoned.mark(List.of(Scope.conversation(1, 44)));

        List<String> marks = TestRedis.get().keys(prefix).stream().filter(key -> key.endsWith(":changing")).toList();

        assertThat(marks).hasSize(1);
        assertThat(TestRedis.get().commands().pttl(marks.getFirst()))
                .isPositive().isLessThanOrEqualTo(SharedViews.CHANGING_TTL.toMillis());
    }

    @Test
    void a_load_that_read_before_a_commit_cannot_replace_a_newer_view_before_the_drop() {
        var slow = new Instance();
        var fast = new Instance();
        var writer = new Instance();
        var later = new Instance();
        Scope conversation = Scope.conversation(1, 43);

        String newer;
        try (ReadCache.Changing change = writer.cache.changing()) {
            String older = slow.cache.get(conversation, "history:50", String.class, () -> {
                String page = "before the message"; // read from PostgreSQL before the append, which marks its scopes,
                change.mark(ReadCache.conversationScopes(1, 43, 7, List.of())); // commits, and before its drop
                return page;
            }).model();
            newer = fast.cache.get(conversation, "history:50", String.class, fast.loading("with the message")).model();
            assertThat(older).isEqualTo("before the message");
        }
        String next = later.cache.get(conversation, "history:50", String.class, later.loading("with the message")).model();

        assertThat(slow.count(Metrics.REDIS_WRITES, "result", "refused")).isEqualTo(1);
        assertThat(fast.count(Metrics.REDIS_WRITES, "result", "kept")).isZero();
        assertThat(newer).isEqualTo("with the message");
        assertThat(next).as("nobody goes back to the page read before the commit").isEqualTo("with the message");
    }

    @Test
    void a_renamed_character_drops_every_inbox_of_its_app_in_redis() {
        var first = new Instance();
        var second = new Instance();
        first.cache.get(Scope.inbox(1, 7), "inbox:20", String.class, first.loading("app 1's inbox"));
        first.cache.get(Scope.inbox(2, 7), "inbox:20", String.class, first.loading("app 2's inbox"));

        first.cache.characterChanged(1, 3);
        second.cache.get(Scope.inbox(1, 7), "inbox:20", String.class, second.loading("with the new name"));
        second.cache.get(Scope.inbox(2, 7), "inbox:20", String.class, second.loading("never read"));

        assertThat(second.loads).as("app 1's inbox only").hasValue(1);
    }

    @Test
    void while_a_character_change_commits_no_inbox_of_its_app_is_served_or_kept_in_redis() {
        var first = new Instance();
        var writer = new Instance();
        var during = new Instance();
        var later = new Instance();
        first.cache.get(Scope.inbox(1, 7), "inbox:20", String.class, first.loading("with the old name"));
        first.cache.get(Scope.inbox(2, 7), "inbox:20", String.class, first.loading("app 2's inbox"));

        String duringChange;
        String otherApp;
        try (ReadCache.Changing change = writer.cache.changing()) {
            change.markCharacter(1, 3);
            // the rename commits here; until the drop, app 1's inboxes come from PostgreSQL
            duringChange = during.cache.get(Scope.inbox(1, 7), "inbox:20", String.class, during.loading("with the new name")).model();
            otherApp = during.cache.get(Scope.inbox(2, 7), "inbox:20", String.class, during.loading("never read")).model();
        }
        String next = later.cache.get(Scope.inbox(1, 7), "inbox:20", String.class, later.loading("with the new name")).model();

        assertThat(duringChange).as("not the old name from Redis").isEqualTo("with the new name");
        assertThat(during.count(Metrics.REDIS_WRITES, "result", "kept")).as("nothing kept while marked").isZero();
        assertThat(otherApp).as("another app's inbox is still served").isEqualTo("app 2's inbox");
        assertThat(during.loads).hasValue(1);
        assertThat(next).isEqualTo("with the new name");
        assertThat(later.loads).as("the drop took the mark with it").hasValue(1);
        assertThat(TestRedis.get().keys(prefix).stream().filter(key -> key.endsWith(":changing"))
                .filter(key -> TestRedis.get().commands().scard(key) > 0)).isEmpty();
    }

    @Test
    void drops_lost_while_redis_was_out_of_reach_leave_nothing_stale_once_it_is_back() {
        var cut = new Instance("parley-test-cut-" + System.nanoTime());
        var other = new Instance();
        Scope scope = Scope.character(1, 3);
        cut.character(scope, luna("Luna"));

        kill("parley-test-cut-");
        cut.cache.get(Scope.user(1, 1), "user", String.class, cut.loading("a read that finds the connection gone"));
        assertThat(cut.redis.up()).as("the failure opened the circuit").isFalse();
        cut.cache.characterChanged(1, 3); // committed, but the drop cannot reach Redis
        Wait.until("the probe to bring Redis back", Duration.ofSeconds(5), cut.redis::up);
        Rendered<CharacterProfile> read = other.character(scope, luna("Nova"));

        assertThat(read.model().name()).as("the view written before the outage is ignored").isEqualTo("Nova");
        assertThat(other.loads).hasValue(1);
    }

    @Test
    void a_view_read_from_redis_lives_here_no_longer_than_it_has_left_there() {
        var first = new Instance();
        var second = new Instance();
        Scope scope = Scope.character(1, 3);
        first.character(scope, luna("Luna"));
        String key = viewKey("character:1:3");
        TestRedis.get().commands().pexpire(key, Duration.ofSeconds(10).toMillis());

        second.character(scope, luna("never read"));
        second.nanos.addAndGet(Duration.ofSeconds(9).toNanos());
        second.character(scope, luna("never read"));
        double afterNine = second.count(Metrics.REDIS_REQUESTS, "result", "hit");
        second.nanos.addAndGet(Duration.ofSeconds(2).toNanos());
        second.character(scope, luna("never read"));

        assertThat(afterNine).as("still in memory after 9 s").isEqualTo(1);
        assertThat(second.count(Metrics.REDIS_REQUESTS, "result", "hit")).as("gone from memory at 11 s").isEqualTo(2);
        assertThat(second.loads).hasValue(0);
    }

    @Test
    void json_that_does_not_fit_the_views_type_is_loaded_as_a_miss() {
        var second = new Instance();

        Rendered<CharacterProfile> read = readBack(second, stored -> "{\"name\":\"no id, and a field the type lacks\",\"colour\":1}");

        assertThat(read.model().name()).isEqualTo("from PostgreSQL");
        assertThat(second.count(Metrics.REDIS_REQUESTS, "result", "unreadable")).isEqualTo(1);
    }

    /** A view that reads back as its type, but of another document than its scope's, is not served as this one. */
    @Test
    void a_view_of_another_document_is_loaded_as_a_miss() {
        var second = new Instance();

        Rendered<CharacterProfile> read = readBack(second, stored -> {
            assertThat(stored).contains("\"id\":\"3\"");
            return stored.replace("\"id\":\"3\"", "\"id\":\"999\"");
        });

        assertThat(read.model().name()).isEqualTo("from PostgreSQL");
        assertThat(second.count(Metrics.REDIS_REQUESTS, "result", "unreadable")).isEqualTo(1);
    }

    /** Character 3's view as another instance put it in Redis, changed there by {@code tamper}, as {@code reader} reads it. */
    private Rendered<CharacterProfile> readBack(Instance reader, java.util.function.UnaryOperator<String> tamper) {
        Scope scope = Scope.character(1, 3);
        new Instance().character(scope, luna("Luna"));
        String key = viewKey("character:1:3");
        String field = TestRedis.get().commands().hkeys(key).getFirst();
        TestRedis.get().commands().hset(key, field, tamper.apply(TestRedis.get().commands().hget(key, field)));
        return reader.character(scope, luna("from PostgreSQL"));
    }

    /** The hash holding a scope's views, under the current epoch. */
    private String viewKey(String scope) {
        return TestRedis.get().keys(prefix).stream().filter(k -> k.contains(scope) && !k.endsWith(":version"))
                .findFirst().orElseThrow(() -> new AssertionError("no views of " + scope + " in Redis"));
    }

    /** Closes, from Redis's side, every connection whose client name starts with {@code name}. */
    private static void kill(String name) {
        for (String client : TestRedis.get().commands().clientList().split("\n")) {
            if (client.contains(" name=" + name)) {
                String id = client.replaceFirst("^id=(\\d+) .*$", "$1").strip();
                TestRedis.get().commands().clientKill(io.lettuce.core.KillArgs.Builder.id(Long.parseLong(id)));
            }
        }
    }
}
