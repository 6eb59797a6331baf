package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.benmanes.caffeine.cache.Ticker;

import dev.parley.cache.ReadCache;
import dev.parley.chat.GroupCommit.Appended;
import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Ids;
import dev.parley.db.PoolSaturated;
import dev.parley.db.QueryLog;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import dev.parley.support.Ports;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The group-commit engine driven one batch at a time: the test owns the writers' executor and runs each
 * batch itself, and owns the ticker that says how long a unit has been queued.
 */
class GroupCommitTest {
    private static final String DB = "parley_group_commit";
    private static final String POISON = "a message the database refuses";
    private static final String LOSE_CONNECTION = "a message whose commit loses its connection";
    private static final String DROPPED = "a message a trigger drops without a word";
    private static final Duration POOL_TIMEOUT = Duration.ofMillis(500);

    private static Database database;
    private static Ids ids;

    private final Queue<Runnable> writerTasks = new ArrayDeque<>();
    private final AtomicLong nanos = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeAll
    static void migrate() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 4);
        ids = new Ids(Clock.systemUTC());
        try (var connection = TestDatabase.get().connect(DB); var statement = connection.createStatement()) {
            // A failure that validation cannot foresee: the whole transaction fails, as a bug or a constraint would make it.
            statement.execute("""
                    CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        RAISE EXCEPTION 'refusing message %', NEW.content;
                    END $$""");
            statement.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.content = '"
                    + POISON + "') EXECUTE FUNCTION refuse_poison()");
            // A row that never arrives, without an error: the write must notice before its COMMIT, which travels with it.
            statement.execute("CREATE FUNCTION drop_silently() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$");
            statement.execute("CREATE TRIGGER drop_silently BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.content = '"
                    + DROPPED + "') EXECUTE FUNCTION drop_silently()");
            // The connection dies inside COMMIT, after every statement succeeded: the client cannot know the outcome.
            statement.execute("""
                    CREATE FUNCTION lose_connection() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        PERFORM pg_terminate_backend(pg_backend_pid());
                        PERFORM pg_sleep(5);
                        RETURN NULL;
                    END $$""");
            statement.execute("CREATE CONSTRAINT TRIGGER lose_connection AFTER UPDATE ON conversations"
                    + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.last_message_preview = '"
                    + LOSE_CONNECTION + "') EXECUTE FUNCTION lose_connection()");
        }
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void one_batch_commits_its_good_units_refuses_the_invalid_ones_and_stores_nothing_of_a_failing_one() {
        var app = new ChatFixture(database, ids, "mixed");
        long first = app.conversation();
        long second = app.conversation();
        GroupCommit appends = engine(database);
        Message earlier = written(appends.submit(app.id, first, List.of(user("hello")))).getFirst().message();
        Message elsewhere = written(appends.submit(app.id, second, List.of(user("elsewhere")))).getFirst().message();

        var good = appends.submit(app.id, first, List.of(user("good one", "key-1"), assistant("reply to hello", earlier.id())));
        var unknownConversation = appends.submit(app.id, 42, List.of(user("nobody here")));
        var foreignParent = appends.submit(app.id, first, List.of(user("fine on its own"), assistant("wrong parent", elsewhere.id())));
        var repeatedKey = appends.submit(app.id, first, List.of(user("once", "key-2"), user("twice", "key-2")));
        var failing = appends.submit(app.id, first, List.of(user("innocent bystander"), user(POISON)));
        var alsoGood = appends.submit(app.id, second, List.of(assistant("good two", null)));
        runOneBatch();

        assertThat(good).isCompleted();
        assertThat(good.join()).extracting(a -> a.message().seq()).containsExactly(2L, 3L);
        assertThat(alsoGood.join()).extracting(a -> a.message().seq()).containsExactly(2L);
        assertThat(failure(unknownConversation)).isInstanceOf(NotFound.class);
        assertThat(failure(foreignParent)).isInstanceOf(InvalidInput.class).hasMessageContaining("messages[1].reply_to_id");
        assertThat(failure(repeatedKey)).isInstanceOf(InvalidInput.class).hasMessageContaining("messages[1].idempotency_key");
        assertThat(failure(failing)).isInstanceOf(DatabaseFailure.class).hasMessageContaining("refusing message");
        assertThat(writerTasks).as("one batch answered every unit").isEmpty();

        assertThat(app.contents(first)).containsExactly("hello", "good one", "reply to hello");
        assertThat(app.contents(second)).containsExactly("elsewhere", "good two");
        assertThat(app.keys()).containsExactly("key-1");
        assertThat(totals(app.id, first)).as("the user has read up to their own last message")
                .isEqualTo(new Stats.ConversationStats(3, 3, 1));
        assertThat(totals(app.id, second)).isEqualTo(new Stats.ConversationStats(2, 2, 1));
    }

    @Test
    void a_batch_that_cannot_reach_the_database_fails_every_unit_within_one_pool_timeout() throws IOException {
        try (Database unreachable = Database.connect(Ports.unreachableDatabase(), 1, POOL_TIMEOUT,
                QueryLog.quiet(), null)) {
            GroupCommit appends = engine(unreachable);
            List<CompletableFuture<List<Appended>>> answers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                answers.add(appends.submit(1, 100 + i, List.of(user("message " + i))));
            }

            long start = System.nanoTime();
            runOneBatch();
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(answers).allSatisfy(answer -> assertThat(failure(answer)).isInstanceOf(DatabaseUnavailable.class));
            assertThat(took).as("one wait for a connection, not one per unit").isLessThan(POOL_TIMEOUT.multipliedBy(3));
        }
    }

    @Test
    void appends_from_many_callers_fail_within_two_pool_timeouts_while_the_database_is_down() throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(GroupCommit.threads(2));
        try (Database unreachable = Database.connect(Ports.unreachableDatabase(), 2, POOL_TIMEOUT,
                QueryLog.quiet(), null);
             var callers = Executors.newVirtualThreadPerTaskExecutor()) {
            var appends = new GroupCommit(new BatchWriter(unreachable, ids, ReadCache.none()), writers, 2, Ticker.systemTicker(), POOL_TIMEOUT,
                    new SimpleMeterRegistry());
            var start = new CountDownLatch(1);
            List<Future<Duration>> waits = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                long conversation = 100 + i;
                waits.add(callers.submit(() -> {
                    start.await();
                    long begun = System.nanoTime();
                    Throwable refused = catchFailure(() -> appends.append(1, conversation, List.of(user("during the outage"))));
                    assertThat(refused).isInstanceOfAny(DatabaseUnavailable.class, PoolSaturated.class, GroupCommit.Backlogged.class);
                    return Duration.ofNanos(System.nanoTime() - begun);
                }));
            }
            start.countDown();

            for (Future<Duration> wait : waits) {
                assertThat(wait.get()).as("a wait in the queue, then one wait for a connection")
                        .isLessThan(POOL_TIMEOUT.multipliedBy(2).plusMillis(500));
            }
        } finally {
            writers.shutdown();
        }
    }

    @Test
    void a_unit_that_waited_past_the_pool_timeout_in_the_queue_is_refused_without_being_written() {
        var app = new ChatFixture(database, ids, "stale");
        long conversation = app.conversation();
        GroupCommit appends = engine(database);
        var stale = appends.submit(app.id, conversation, List.of(user("queued too long")));
        nanos.addAndGet(POOL_TIMEOUT.toNanos() + 1);
        var fresh = appends.submit(app.id, conversation, List.of(user("just queued")));

        runOneBatch();

        assertThat(failure(stale)).isInstanceOf(GroupCommit.Backlogged.class).hasMessageContaining("PARLEY_APPEND_WRITERS=1");
        assertThat(backlogRejections()).isEqualTo(1);
        assertThat(fresh.join()).extracting(a -> a.message().seq()).containsExactly(1L);
        assertThat(app.contents(conversation)).containsExactly("just queued");
    }

    @Test
    void an_append_no_writer_takes_within_the_pool_timeout_is_refused_and_never_written() {
        var app = new ChatFixture(database, ids, "untaken");
        long conversation = app.conversation();
        GroupCommit appends = engine(database);

        Throwable refused = catchFailure(() -> appends.append(app.id, conversation, List.of(user("never taken"))));
        runOneBatch(); // the writer comes after its caller gave up

        assertThat(refused).isInstanceOf(GroupCommit.Backlogged.class);
        assertThat(backlogRejections()).isEqualTo(1);
        assertThat(app.contents(conversation)).isEmpty();
        assertThat(totals(app.id, conversation).lastSeq()).isZero();
    }

    @Test
    void a_connection_lost_during_commit_leaves_the_whole_batch_not_confirmed_and_retries_none_of_it() {
        var app = new ChatFixture(database, ids, "lost-commit");
        long bystander = app.conversation();
        long doomed = app.conversation();
        GroupCommit appends = engine(database);
        var innocent = appends.submit(app.id, bystander, List.of(user("innocent bystander")));
        var lost = appends.submit(app.id, doomed, List.of(user(LOSE_CONNECTION)));

        runOneBatch();

        assertThat(failure(innocent)).isInstanceOf(GroupCommit.AppendNotConfirmed.class);
        assertThat(failure(lost)).isInstanceOf(GroupCommit.AppendNotConfirmed.class)
                .hasMessageContaining("retry with the same Idempotency-Key");
        assertThat(app.contents(bystander)).as("not written again on its own behind the caller's back").isEmpty();
        assertThat(app.contents(doomed)).isEmpty();
        assertThat(written(appends.submit(app.id, bystander, List.of(user("after the break"))))).hasSize(1);
    }

    @Test
    void a_batch_whose_write_inserts_fewer_messages_than_it_was_given_commits_nothing_and_acknowledges_none_of_them() {
        var app = new ChatFixture(database, ids, "dropped");
        long bystander = app.conversation();
        long victim = app.conversation();
        GroupCommit appends = engine(database);
        var innocent = appends.submit(app.id, bystander, List.of(user("innocent bystander")));
        var dropped = appends.submit(app.id, victim, List.of(user("kept"), user(DROPPED)));

        runOneBatch();

        assertThat(innocent.join()).hasSize(1);
        assertThat(failure(dropped)).isInstanceOf(DatabaseFailure.class).hasMessageContaining("inserted 1 of its 2 messages");
        assertThat(app.contents(bystander)).containsExactly("innocent bystander");
        assertThat(app.contents(victim)).isEmpty();
        assertThat(totals(app.id, victim).lastSeq()).isZero();
    }

    @Test
    void a_batch_is_two_round_trips_the_lock_with_its_settings_and_the_write_with_its_commit() {
        var app = new ChatFixture(database, ids, "round-trips");
        long first = app.conversation();
        long second = app.conversation();
        try (RoundTrips trips = RoundTrips.to(TestDatabase.get().target(DB));
             Database counted = TestDatabase.pool(trips.target(), 1)) {
            GroupCommit appends = engine(counted);
            written(appends.submit(app.id, first, List.of(user("run 0")))); // the pool's connection, opened uncounted
            for (int run = 1; run <= 6; run++) { // pgjdbc names a statement at its fifth run: before and after
                var one = appends.submit(app.id, first, List.of(user("run " + run)));
                var other = appends.submit(app.id, second, List.of(user("run " + run), assistant("answer " + run, null)));
                // HikariCP checks a connection idle over 500 ms with a round trip of its own as it lends it: on a busy
                // machine the time since the last batch can pass that. Borrowed just now, it is lent without one.
                counted.read(handle -> null);
                trips.reset();
                runOneBatch();

                assertThat(one.join()).hasSize(1);
                assertThat(other.join()).hasSize(2);
                assertThat(trips.count()).as("round trips of batch %d", run).isEqualTo(2);
            }
        }
        assertThat(app.contents(first)).containsExactly("run 0", "run 1", "run 2", "run 3", "run 4", "run 5", "run 6");
        assertThat(app.contents(second)).hasSize(12);
    }

    @Test
    void a_conversation_locked_past_the_lock_budget_fails_its_units_after_one_wait_and_the_rest_of_the_batch_commits()
            throws SQLException {
        // .ci/dated-tests runs this class under libfaketime, where PostgreSQL's lock_timeout never fires: the main run has it.
        assumeTrue(System.getenv("PARLEY_TEST_DATE") == null, "lock_timeout does not fire under a faked clock");
        var app = new ChatFixture(database, ids, "locked");
        long locked = app.conversation();
        long free = app.conversation();
        var registry = new SimpleMeterRegistry();
        var limits = new Database.Limits(null, Duration.ofMillis(300));
        try (Database limited = Database.connect(TestDatabase.get().target(DB),
                new Database.PoolOptions(2, POOL_TIMEOUT, 1.0, List.of(), limits), new QueryLog(registry,
                        new QueryLog.Thresholds(Duration.ofHours(1), Duration.ofHours(1)), new Slowest()), null, null);
             var holder = TestDatabase.get().connect(DB)) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT 1 FROM conversations WHERE conversation_id = " + locked + " FOR UPDATE");
            GroupCommit appends = engine(limited);
            var first = appends.submit(app.id, locked, List.of(user("first")));
            var second = appends.submit(app.id, locked, List.of(user("second")));
            var elsewhere = appends.submit(app.id, free, List.of(user("elsewhere")));

            runOneBatch();

            assertThat(failure(first)).isInstanceOf(DatabaseFailure.class).hasMessageContaining("55P03");
            assertThat(failure(second)).isSameAs(failure(first));
            assertThat(elsewhere.join()).hasSize(1);
            assertThat(registry.get(dev.parley.metrics.Metrics.QUERY_ERRORS).tag("query", "append.lock_conversations")
                    .counter().count()).as("lock waits: the batch's, then the first unit's alone").isEqualTo(2);
            holder.rollback();
        }
        assertThat(app.contents(locked)).isEmpty();
        assertThat(app.contents(free)).containsExactly("elsewhere");
    }

    @Test
    void an_apps_batch_goes_into_the_next_transaction_while_another_app_has_many_large_batches_queued() {
        var flooding = new ChatFixture(database, ids, "flooding");
        var quiet = new ChatFixture(database, ids, "quiet");
        long floodConversation = flooding.conversation();
        long quietConversation = quiet.conversation();
        GroupCommit appends = engine(database);
        List<CompletableFuture<List<Appended>>> floods = new ArrayList<>();
        for (int batch = 0; batch < 6; batch++) {
            floods.add(appends.submit(flooding.id, floodConversation, messages("flood " + batch, 1000)));
        }
        // Large too (over 100 messages), so they queue in the flood's lane and take turns with it there.
        var quietBatch = appends.submit(quiet.id, quietConversation, messages("quiet", 101));
        var nextQuietBatch = appends.submit(quiet.id, quietConversation, messages("quiet again", 101));

        runOneBatch();

        assertThat(quietBatch).as("the quiet app's batch took its turn in the first batch, not after the flood's").isCompleted();
        assertThat(quietBatch.join()).extracting(a -> a.message().seq()).first().isEqualTo(1L);
        assertThat(floods.getFirst()).isCompleted();
        assertThat(floods.get(1)).as("the batch holds at most 2000 messages").isNotDone();
        assertThat(nextQuietBatch).as("one unit per app a turn").isNotDone();

        runOneBatch();

        assertThat(nextQuietBatch.join()).extracting(a -> a.message().seq()).first().isEqualTo(102L);
        while (!writerTasks.isEmpty()) {
            runOneBatch();
        }
        for (int batch = 0; batch < floods.size(); batch++) {
            assertThat(floods.get(batch).join()).extracting(a -> a.message().seq()).first()
                    .as("the flood's batches in the order they came, seqs without gaps").isEqualTo(batch * 1000L + 1);
        }
        assertThat(totals(flooding.id, floodConversation).lastSeq()).isEqualTo(6000);
        assertThat(totals(quiet.id, quietConversation).lastSeq()).isEqualTo(202);
    }

    @Test
    void a_single_append_is_written_by_a_writer_of_its_own_while_a_large_batch_is_in_the_one_writer_for_large_ones() {
        var flooding = new ChatFixture(database, ids, "long-lines");
        var quiet = new ChatFixture(database, ids, "chat");
        long floodConversation = flooding.conversation();
        long quietConversation = quiet.conversation();
        GroupCommit appends = engine(database);
        String longLine = "x".repeat(3000);
        // 90 messages of 3,000 characters: few, but over 256 KiB of content.
        var flood = appends.submit(flooding.id, floodConversation, messages(longLine, 90));
        var secondFlood = appends.submit(flooding.id, floodConversation, messages(longLine, 90));
        var single = appends.submit(quiet.id, quietConversation, List.of(user("hello")));

        assertThat(writerTasks).as("one writer for the large batches (the second waits for it), one for the single")
                .hasSize(2);
        Runnable large = writerTasks.poll();
        writerTasks.poll().run(); // the single's writer runs while the large batch's has not even started

        assertThat(single.join()).extracting(a -> a.message().seq()).containsExactly(1L);
        assertThat(flood).isNotDone();
        large.run(); // both of the app's large batches: its queue, in turn with no other app's
        assertThat(flood.join()).hasSize(90);
        assertThat(secondFlood.join()).extracting(a -> a.message().seq()).first().isEqualTo(91L);
        assertThat(GroupCommit.isLarge(new BatchWriter.Unit(1, 1, messages("short", 100), true))).isFalse();
        assertThat(GroupCommit.isLarge(new BatchWriter.Unit(1, 1, messages("short", 101), true))).isTrue();
    }

    /** A pool of one thread for one writer a lane would run the small lane's batch only after the large one's. */
    @Test
    void a_thread_pool_with_fewer_threads_than_both_lanes_writers_is_refused() {
        for (ExecutorService pool : List.of(Executors.newFixedThreadPool(1), Executors.newScheduledThreadPool(3))) {
            try (pool) {
                assertThatThrownBy(() -> new GroupCommit(new BatchWriter(database, ids, ReadCache.none()), pool, 2,
                        Ticker.systemTicker(), POOL_TIMEOUT, new SimpleMeterRegistry()))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("GroupCommit.threads(2) = 4");
            }
        }
        try (ExecutorService enough = Executors.newFixedThreadPool(GroupCommit.threads(2));
             ExecutorService unbounded = Executors.newCachedThreadPool()) {
            new GroupCommit(new BatchWriter(database, ids, ReadCache.none()), enough, 2, Ticker.systemTicker(), POOL_TIMEOUT,
                    new SimpleMeterRegistry()).close();
            new GroupCommit(new BatchWriter(database, ids, ReadCache.none()), unbounded, 2, Ticker.systemTicker(), POOL_TIMEOUT,
                    new SimpleMeterRegistry()).close();
        }
    }

    /** {@code count} user messages "prefix.i". */
    private static List<NewMessage> messages(String prefix, int count) {
        List<NewMessage> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            messages.add(user(prefix + "." + i));
        }
        return messages;
    }

    /** An engine with one writer that runs only when the test runs its task, on the test's ticker. */
    private GroupCommit engine(Database writesTo) {
        return new GroupCommit(new BatchWriter(writesTo, ids, ReadCache.none()), writerTasks::add, 1, nanos::get, POOL_TIMEOUT,
                registry);
    }

    /** Appends refused for want of a writer, as parley_pool_rejected_total{resource="append_writers"} counts them. */
    private double backlogRejections() {
        return registry.get(Metrics.POOL_REJECTED).tag(Metrics.POOL_REJECTED_RESOURCE, "append_writers").counter().count();
    }

    private static Throwable catchFailure(Runnable append) {
        try {
            append.run();
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("the append succeeded");
    }

    private void runOneBatch() {
        Runnable batch = writerTasks.poll();
        assertThat(batch).as("a writer was asked to run").isNotNull();
        batch.run();
    }

    /** Runs the batch that holds the answer and returns the answer. */
    private List<Appended> written(CompletableFuture<List<Appended>> answer) {
        runOneBatch();
        return answer.join();
    }

    private static Throwable failure(CompletableFuture<?> answer) {
        assertThat(answer).isCompletedExceptionally();
        try {
            answer.join();
            throw new AssertionError("completed normally");
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    private static NewMessage user(String content) {
        return user(content, null);
    }

    private static NewMessage user(String content, String idempotencyKey) {
        return new NewMessage("user", content, null, null, null, null, idempotencyKey);
    }

    private static NewMessage assistant(String content, Long replyToId) {
        return new NewMessage("assistant", content, null, null, null, replyToId, null);
    }

    private static Stats.ConversationStats totals(long appId, long conversationId) {
        return database.read(handle -> Stats.conversation(handle, appId, conversationId));
    }
}
