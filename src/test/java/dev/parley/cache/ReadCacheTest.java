package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.config.CacheTtls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The cache's rules, driven by a clock the test moves: lifetimes, one load per miss, no stale result kept. */
class ReadCacheTest {
    private static final CacheTtls TTLS = new CacheTtls(Duration.ofMinutes(30), Duration.ofMinutes(15),
            Duration.ofMinutes(5), Duration.ofSeconds(30));

    private final AtomicLong nanos = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ReadCache cache = new ReadCache(64L << 20, TTLS, nanos::get, Runnable::run, registry);
    private final AtomicInteger loads = new AtomicInteger();

    private String load(String value) {
        loads.incrementAndGet();
        return value;
    }

    @Test
    void a_cached_view_is_gzipped_once_however_many_hits_ask_for_it() {
        Scope conversation = Scope.conversation(1, 42);
        AtomicInteger compressions = new AtomicInteger();
        java.util.function.UnaryOperator<byte[]> gzip = body -> {
            compressions.incrementAndGet();
            return java.util.Arrays.copyOf(body, body.length / 2);
        };

        byte[] first = cache.get(conversation, "history:50", () -> load("the page")).gzipped(gzip);
        byte[] second = cache.get(conversation, "history:50", () -> load("not read")).gzipped(gzip);
        cache.conversationChanged(1, 42, 7);
        byte[] changed = cache.get(conversation, "history:50", () -> load("the page, and one more")).gzipped(gzip);

        assertThat(second).isSameAs(first);
        assertThat(changed).isNotEqualTo(first);
        assertThat(compressions).as("once for the view, once for the view that replaced it").hasValue(2);
    }

    record Page(List<String> messages, boolean hasOlder) {
    }

    @Test
    void a_view_kept_as_sent_holds_its_json_and_reads_its_model_back_from_it() {
        Scope conversation = Scope.conversation(1, 42);
        Page loaded = new Page(List.of("hello", "hi there", "caf\u00e9 \"au lait\""), true);

        Rendered<Page> first = cache.getAsSent(conversation, "history:50", Page.class, () -> loaded);
        Rendered<Page> hit = cache.getAsSent(conversation, "history:50", Page.class, () -> new Page(List.of(), false));
        Rendered<Page> again = cache.getAsSent(conversation, "history:50", Page.class, () -> new Page(List.of(), false));
        Rendered<Page> withModel = Rendered.of(loaded);

        assertThat(first.model()).as("the loading reader's model is the one its load made").isSameAs(loaded);
        assertThat(again).as("what is kept").isSameAs(hit);
        assertThat(first.body()).isEqualTo(withModel.body());
        assertThat(first.etag()).isEqualTo(withModel.etag());
        assertThat(hit.body()).isEqualTo(withModel.body());
        assertThat(hit.etag()).isEqualTo(withModel.etag());
        assertThat(hit.model()).as("read back from the JSON, not the object loaded").isNotSameAs(loaded).isEqualTo(loaded);
        assertThat(hit.weight()).as("the JSON without the object it was made from")
                .isEqualTo(withModel.weight() - withModel.body().length);
    }

    @Test
    void a_view_kept_as_sent_from_a_cache_of_no_bytes_is_the_loaded_model_rendered() {
        ReadCache none = ReadCache.none();
        Page loaded = new Page(List.of("hello"), false);

        assertThat(none.getAsSent(Scope.conversation(1, 42), "history:50", Page.class, () -> loaded).model()).isSameAs(loaded);
    }

    @Test
    void each_kind_of_scope_lives_as_long_as_its_lifetime_says() {
        Scope inbox = Scope.inbox(1, 7);
        Scope character = Scope.character(1, 3);
        cache.get(inbox, "inbox:20", () -> load("first page"));
        cache.get(character, "character", () -> load("Luna"));

        nanos.addAndGet(Duration.ofSeconds(29).toNanos());
        cache.get(inbox, "inbox:20", () -> load("again"));
        nanos.addAndGet(Duration.ofSeconds(2).toNanos()); // 31 s: past the inbox's 30 s, far from the character's 30 min
        String inboxAfter = cache.get(inbox, "inbox:20", () -> load("reloaded")).model();
        String characterAfter = cache.get(character, "character", () -> load("reloaded")).model();

        assertThat(inboxAfter).isEqualTo("reloaded");
        assertThat(characterAfter).isEqualTo("Luna");
        assertThat(loads).hasValue(3);
    }

    @Test
    void readers_missing_at_once_wait_for_one_load() throws Exception {
        var loading = new CountDownLatch(1);
        var release = new CountDownLatch(1);
        Scope scope = Scope.conversation(1, 42);
        try (var readers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> reads = new ArrayList<>();
            reads.add(readers.submit(() -> cache.get(scope, "history:50", () -> {
                loading.countDown();
                await(release);
                return load("page");
            }).model()));
            loading.await();
            for (int i = 0; i < 20; i++) {
                reads.add(readers.submit(() -> cache.get(scope, "history:50", () -> load("second load")).model()));
            }
            release.countDown();
            for (Future<String> read : reads) {
                assertThat(read.get()).isEqualTo("page");
            }
        }
        assertThat(loads).hasValue(1);
        assertThat(registry.get("parley.cache.loads").tag("cache", "history").counter().count()).isEqualTo(1);
    }

    /**
     * The race behind a stale read between two instances: a reader that finds no view, then no load under
     * way because the load just ended, must take the view that load kept, not load (and answer) a newer one
     * while the older stays kept for the next read. Four readers are let go at once, 10,000 times: in some
     * rounds a reader comes as the first one's load ends.
     */
    @Test
    void readers_arriving_as_a_load_ends_answer_what_it_kept() throws Exception {
        try (var readers = Executors.newFixedThreadPool(4)) {
            for (int round = 0; round < 10_000; round++) {
                Scope scope = Scope.conversation(1, round);
                String kept = "page " + round;
                var start = new CountDownLatch(1);
                List<Future<String>> reads = new ArrayList<>();
                reads.add(readers.submit(() -> {
                    await(start);
                    return cache.get(scope, "history:50", () -> load(kept)).model();
                }));
                for (int i = 0; i < 3; i++) {
                    reads.add(readers.submit(() -> {
                        await(start);
                        return cache.get(scope, "history:50", () -> load("newer " + kept)).model();
                    }));
                }
                start.countDown();
                String first = reads.get(0).get();
                for (Future<String> read : reads) {
                    assertThat(read.get()).as("round %d", round).isEqualTo(first);
                }
                assertThat(cache.get(scope, "history:50", () -> load("later")).model()).as("round %d", round).isEqualTo(first);
            }
        }
    }

    @Test
    void a_load_that_began_before_a_change_is_answered_but_not_kept() {
        Scope scope = Scope.conversation(1, 42);

        String during = cache.get(scope, "history:50", () -> {
            String read = load("before the message"); // read from the database ...
            cache.conversationChanged(1, 42, 7); // ... while a message was appended
            return read;
        }).model();
        String next = cache.get(scope, "history:50", () -> load("with the message")).model();

        assertThat(during).isEqualTo("before the message");
        assertThat(next).as("the stale page was not kept").isEqualTo("with the message");
    }

    /**
     * The race behind a reader going back in time (TwoInstancesTest): a load that waited for a connection
     * reads a page newer than the view kept meanwhile by a load that began after a change, and the next
     * change is not heard of yet. Its reader must not be answered from that older view next.
     */
    @Test
    void a_reader_answered_by_a_late_load_is_not_sent_back_to_an_older_view() {
        Scope scope = Scope.conversation(1, 42);
        var database = new AtomicReference<>("24 messages");

        String answered = cache.get(scope, "history:1", () -> {
            cache.conversationChanged(1, 42, 7); // message 24 is heard of while this load waits for a connection
            cache.get(scope, "history:1", () -> load(database.get())); // another reader loads and keeps the page with 24
            database.set("25 messages"); // message 25 commits; it is not heard of yet
            return load(database.get()); // and this load reads at last
        }).model();
        String next = cache.get(scope, "history:1", () -> load(database.get())).model();

        assertThat(answered).isEqualTo("25 messages");
        assertThat(next).as("the same reader's next read").isEqualTo("25 messages");
        assertThat(registry.get("parley.cache.removals").tag("scope", "conversation").tag("cause", "late_load").counter().count())
                .isEqualTo(1);
    }

    /** A change counts as a removal only for a scope that was held: a character nobody read drops nothing; its app's inboxes do. */
    @Test
    void removals_for_a_change_count_the_scopes_held_and_every_inbox_a_character_change_drops() {
        cache.get(Scope.inbox(1, 7), "inbox:20", () -> load("seven's inbox"));
        cache.get(Scope.inbox(1, 8), "inbox:20", () -> load("eight's inbox"));
        cache.get(Scope.inbox(2, 9), "inbox:20", () -> load("another app's inbox"));

        cache.characterChanged(1, 3); // never read; shown in app 1's inboxes
        cache.characterChanged(1, 3);
        cache.userChanged(1, 7); // never read

        assertThat(removals("character")).as("a character nobody read").isZero();
        assertThat(removals("user")).isZero();
        assertThat(removals("inbox")).as("app 1's two inboxes, once").isEqualTo(2);
        cache.get(Scope.inbox(2, 9), "inbox:20", () -> load("not read"));
        assertThat(loads).as("the other app's inbox stays").hasValue(3);
    }

    private double removals(String scope) {
        var counter = registry.find("parley.cache.removals").tag("scope", scope).tag("cause", "changed").counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void views_asked_for_together_are_loaded_in_one_call_for_those_missed_and_held_after() {
        var held = new ReadCache.Key(Scope.user(1, 7), "recall:3");
        var first = new ReadCache.Key(Scope.user(1, 8), "recall:3");
        var second = new ReadCache.Key(Scope.user(1, 9), "recall:3");
        cache.get(held.scope(), held.name(), () -> load("held"));
        List<List<ReadCache.Key>> calls = new ArrayList<>();

        Map<ReadCache.Key, String> views = cache.getEach(List.of(held, first, second), missed -> {
            calls.add(missed);
            return Map.of(first, load("first"), second, load("second"));
        });
        Map<ReadCache.Key, String> again = cache.getEach(List.of(held, first, second), missed -> {
            calls.add(missed);
            return Map.of();
        });

        assertThat(views).isEqualTo(Map.of(held, "held", first, "first", second, "second"));
        assertThat(calls).as("one call, for the two missed").containsExactly(List.of(first, second));
        assertThat(again).isEqualTo(views);
    }

    @Test
    void a_change_during_a_load_of_several_views_keeps_out_the_changed_scopes_view_alone() {
        var unchanged = new ReadCache.Key(Scope.user(1, 8), "recall:3");
        var changed = new ReadCache.Key(Scope.user(1, 9), "recall:3");

        Map<ReadCache.Key, String> during = cache.getEach(List.of(unchanged, changed), missed -> {
            Map<ReadCache.Key, String> read = Map.of(unchanged, load("8 at version 1"), changed, load("9 at version 1"));
            cache.userChanged(1, 9); // a memory of user 9 written while the versions were read
            return read;
        });
        List<ReadCache.Key> loadedNext = new ArrayList<>();
        Map<ReadCache.Key, String> next = cache.getEach(List.of(unchanged, changed), missed -> {
            loadedNext.addAll(missed);
            return Map.of(changed, load("9 at version 2"));
        });

        assertThat(during).as("both answered").containsEntry(changed, "9 at version 1");
        assertThat(loadedNext).as("only the changed scope's view was not kept").containsExactly(changed);
        assertThat(next).isEqualTo(Map.of(unchanged, "8 at version 1", changed, "9 at version 2"));
    }

    @Test
    void a_change_drops_every_view_of_its_scope_and_only_those() {
        cache.get(Scope.conversation(1, 42), "history:50", () -> load("page"));
        cache.get(Scope.conversation(1, 42), "conversation", () -> load("row"));
        cache.get(Scope.inbox(1, 7), "inbox:20", () -> load("inbox"));
        cache.get(Scope.conversation(1, 43), "history:50", () -> load("other page"));
        cache.get(Scope.inbox(2, 7), "inbox:20", () -> load("another app's inbox"));

        cache.conversationChanged(1, 42, 7);
        List.of(cache.get(Scope.conversation(1, 42), "history:50", () -> load("page")),
                cache.get(Scope.conversation(1, 42), "conversation", () -> load("row")),
                cache.get(Scope.inbox(1, 7), "inbox:20", () -> load("inbox")),
                cache.get(Scope.conversation(1, 43), "history:50", () -> load("other page")),
                cache.get(Scope.inbox(2, 7), "inbox:20", () -> load("another app's inbox")));

        assertThat(loads).as("five first loads, then three of the changed scopes").hasValue(8);
        assertThat(registry.get("parley.cache.requests").tag("cache", "history").tag("result", "hit").counter().count())
                .isEqualTo(1);
    }

    @Test
    void a_renamed_character_drops_its_apps_inboxes_which_show_its_name() {
        cache.get(Scope.inbox(1, 7), "inbox:20", () -> load("inbox"));
        cache.get(Scope.inbox(2, 7), "inbox:20", () -> load("another app's inbox"));

        cache.characterChanged(1, 3);
        cache.get(Scope.inbox(1, 7), "inbox:20", () -> load("inbox"));
        cache.get(Scope.inbox(2, 7), "inbox:20", () -> load("another app's inbox"));

        assertThat(loads).hasValue(3);
    }

    @Test
    void a_failed_load_reaches_its_reader_and_nothing_is_kept() {
        Scope scope = Scope.character(1, 404);
        assertThatThrownBy(() -> cache.get(scope, "character", () -> {
            throw new IllegalStateException("not found");
        })).hasMessage("not found");

        assertThat(cache.get(scope, "character", () -> load("created since")).model()).isEqualTo("created since");
    }

    @Test
    void a_cache_of_no_bytes_loads_every_time() {
        var none = new ReadCache(0, TTLS, nanos::get, Runnable::run, registry);
        none.get(Scope.user(1, 1), "user", () -> load("a"));
        none.get(Scope.user(1, 1), "user", () -> load("a"));

        assertThat(none.enabled()).isFalse();
        assertThat(loads).hasValue(2);
    }

    @Test
    void notices_from_other_instances_drop_what_they_name() {
        cache.get(Scope.conversation(3, 42), "history:50", () -> load("page"));
        cache.get(Scope.user(3, 9), "user", () -> load("profile"));

        cache.heard("c", "3:42:7");
        cache.heard("u", "3:9");
        cache.heard("c", "not:ids:here"); // ignored
        cache.get(Scope.conversation(3, 42), "history:50", () -> load("page"));
        cache.get(Scope.user(3, 9), "user", () -> load("profile"));

        assertThat(loads).hasValue(4);
        assertThat(registry.get("parley.cache.notices").tag("kind", "c").counter().count()).isEqualTo(2);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
