package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.Apps;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.chat.CounterBuffer.Holder;
import dev.parley.config.CacheTtls;
import dev.parley.config.CounterFlush;
import dev.parley.db.Database;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import dev.parley.metrics.Metrics;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The write-behind engine on real PostgreSQL, driven by the test: it owns the executor flushes due by
 * count are handed to (and runs them when it chooses), and the ticker that says how old increments are.
 */
class CounterBufferTest {
    private static final String DB = "parley_counter_buffer";
    private static final CounterFlush EVERY_10_OR_5S = new CounterFlush(10, Duration.ofSeconds(5));

    private static Database database;

    private final Queue<Runnable> flushTasks = new ArrayDeque<>();
    private final AtomicLong nanos = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ReadCache cache = new ReadCache(16L << 20, CacheTtls.DEFAULTS, Ticker.systemTicker(), Runnable::run, registry);
    private CounterBuffer buffer = engine(EVERY_10_OR_5S);
    private final Chat chat = new Chat();

    @BeforeAll
    static void migrate() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 6);
        try (var connection = TestDatabase.get().connect(DB); var statement = connection.createStatement()) {
            // A failure a flush cannot foresee (a lock timeout, a trigger): the listed conversations refuse every write.
            statement.execute("CREATE TABLE refuse_writes (conversation_id bigint PRIMARY KEY)");
            statement.execute("""
                    CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF EXISTS (SELECT 1 FROM refuse_writes WHERE conversation_id = NEW.conversation_id) THEN
                            RAISE EXCEPTION 'conversation % refuses writes', NEW.conversation_id;
                        END IF;
                        RETURN NEW;
                    END $$""");
            statement.execute("CREATE TRIGGER refuse_writes BEFORE UPDATE ON conversations FOR EACH ROW "
                    + "EXECUTE FUNCTION refuse_writes()");
            // The connection dies inside COMMIT, before the transaction commits: the flush cannot know it did not.
            statement.execute("CREATE TABLE lose_commit (conversation_id bigint PRIMARY KEY)");
            statement.execute("""
                    CREATE FUNCTION lose_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF EXISTS (SELECT 1 FROM lose_commit WHERE conversation_id = NEW.conversation_id) THEN
                            PERFORM pg_terminate_backend(pg_backend_pid());
                            PERFORM pg_sleep(5);
                        END IF;
                        RETURN NULL;
                    END $$""");
            statement.execute("CREATE CONSTRAINT TRIGGER lose_commit AFTER UPDATE ON conversations DEFERRABLE INITIALLY DEFERRED"
                    + " FOR EACH ROW EXECUTE FUNCTION lose_commit()");
        }
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @AfterEach
    void closeEngine() {
        buffer.close();
    }

    private CounterBuffer engine(CounterFlush policy) {
        return new CounterBuffer(database, cache, flushTasks::add, nanos::get, policy, registry);
    }

    @Test
    void increments_wait_in_memory_until_the_tenth_then_one_flush_writes_them() {
        long conversation = chat.conversation();
        for (int i = 0; i < 9; i++) {
            chat.increment(conversation, "affection", 1);
        }
        assertThat(flushTasks).as("nine increments are not due").isEmpty();
        assertThat(chat.stored(conversation)).as("nothing written yet").isEqualTo(json("{}"));
        assertThat(buffer.running(Holder.conversation(chat.app, conversation)).values()).containsEntry("affection", 9L);

        JsonText answer = chat.increment(conversation, "affection", 1);
        assertThat(flushTasks).as("the tenth makes it due: one flush handed to the executor").hasSize(1);
        runFlushes();

        assertThat(json(answer)).isEqualTo(json("{\"affection\": 10}"));
        assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": 10}"));
        assertThat(buffer.running(Holder.conversation(chat.app, conversation)).isEmpty()).as("let go once written").isTrue();
    }

    /**
     * An increment queued before the database stopped answering is taken: the answer must not be an error a client
     * would retry (counting it twice), so it shows the stored counters as first read, with this instance's moves.
     */
    @Test
    void an_increment_taken_while_the_stored_row_cannot_be_read_is_answered_and_written_once() throws SQLException {
        long conversation = chat.conversation();
        chat.sql("UPDATE conversations SET counters = '{\"trust\": 7}' WHERE conversation_id = " + conversation);
        chat.increment(conversation, "affection", 1); // the tally now holds the stored counters as read
        var unreachable = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.function.Supplier<JsonText> stored = () -> {
            if (unreachable.get()) {
                throw new DatabaseUnavailable("the database is unreachable (test)", null);
            }
            return chat.storedDocument(conversation);
        };

        JsonText answer = buffer.increment(Holder.conversation(chat.app, conversation), Map.of("affection", 2L), false, stored);
        runFlushes();
        nanos.addAndGet(EVERY_10_OR_5S.after().toNanos());
        buffer.flushDue();

        assertThat(json(answer)).isEqualTo(json("{\"trust\": 7, \"affection\": 3}"));
        assertThat(chat.stored(conversation)).as("each increment written once").isEqualTo(json("{\"trust\": 7, \"affection\": 3}"));
    }

    @Test
    void an_increment_is_written_by_the_first_check_after_its_window_and_not_before() {
        long conversation = chat.conversation();
        chat.increment(conversation, "affection", 3);

        nanos.addAndGet(Duration.ofSeconds(5).toNanos() - 1);
        buffer.flushDue();
        assertThat(chat.stored(conversation)).as("1 ns short of the window").isEqualTo(json("{}"));

        nanos.incrementAndGet();
        buffer.flushDue();
        assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": 3}"));
        assertThat(flushTasks).as("time, not count, made it due").isEmpty();
    }

    @Test
    void one_statement_writes_every_holder_due_conversations_and_users_alike() {
        List<Long> conversations = List.of(chat.conversation(), chat.conversation(), chat.conversation());
        conversations.forEach(conversation -> chat.increment(conversation, "affection", 2));
        List<Long> users = List.of(chat.user("ada"), chat.user("grace"));
        users.forEach(user -> buffer.increment(Holder.user(chat.app, user), Map.of("xp", 50L), false, () -> chat.storedUser(user)));
        long notDue = chat.conversation();

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        chat.increment(notDue, "affection", 1);
        buffer.flushDue();

        conversations.forEach(conversation -> assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": 2}")));
        users.forEach(user -> assertThat(json(chat.storedUser(user))).isEqualTo(json("{\"xp\": 50}")));
        assertThat(chat.stored(notDue)).as("its first increment is not 5 s old").isEqualTo(json("{}"));
        var sizes = registry.get(Metrics.COUNTER_FLUSH_SIZE).summary();
        assertThat(sizes.count()).as("statements").isEqualTo(1);
        assertThat(sizes.totalAmount()).as("holders written by it").isEqualTo(5);
    }

    @Test
    void a_flush_drops_the_cached_views_of_what_it_wrote() {
        long conversation = chat.conversation();
        var loads = new AtomicInteger();
        Scope scope = Scope.conversation(chat.app, conversation);
        cache.get(scope, "conversation", loads::incrementAndGet);
        chat.increment(conversation, "affection", 1);
        cache.get(scope, "conversation", loads::incrementAndGet);
        assertThat(loads).as("an increment held in memory leaves the stored row's views alone").hasValue(1);

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        buffer.flushDue();
        cache.get(scope, "conversation", loads::incrementAndGet);

        assertThat(loads).as("the flush changed the row, so its views are read again").hasValue(2);
    }

    @Test
    void a_durable_increment_is_written_at_once_with_the_increments_held_before_it() {
        long conversation = chat.conversation();
        chat.increment(conversation, "affection", 4);
        chat.increment(conversation, "trust", 1);

        JsonText answer = buffer.increment(Holder.conversation(chat.app, conversation), Map.of("affection", 1L), true,
                () -> chat.storedDocument(conversation));

        assertThat(chat.stored(conversation)).isEqualTo(json("{\"trust\": 1, \"affection\": 5}"));
        assertThat(json(answer)).isEqualTo(chat.stored(conversation));
        assertThat(buffer.running(Holder.conversation(chat.app, conversation)).isEmpty()).isTrue();
        nanos.addAndGet(Duration.ofMinutes(1).toNanos());
        buffer.flushDue();
        assertThat(chat.stored(conversation)).as("nothing is written twice").isEqualTo(json("{\"trust\": 1, \"affection\": 5}"));
    }

    @Test
    void a_flush_that_fails_keeps_its_increments_and_the_next_check_writes_them() throws SQLException {
        long refusing = chat.conversation();
        long other = chat.conversation();
        chat.increment(refusing, "affection", 1);
        chat.increment(other, "affection", 1);
        chat.sql("INSERT INTO refuse_writes VALUES (" + refusing + ")");

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        buffer.flushDue();
        assertThat(chat.stored(other)).as("the statement failed as a whole").isEqualTo(json("{}"));
        chat.increment(refusing, "affection", 1); // queued while the first is held again

        chat.sql("DELETE FROM refuse_writes");
        buffer.flushDue();
        assertThat(chat.stored(refusing)).isEqualTo(json("{\"affection\": 2}"));
        assertThat(chat.stored(other)).isEqualTo(json("{\"affection\": 1}"));
    }

    @Test
    void a_flush_whose_commit_lost_its_connection_before_committing_is_written_by_the_next_check() throws SQLException {
        long conversation = chat.conversation();
        chat.increment(conversation, "affection", 3);
        chat.sql("INSERT INTO lose_commit VALUES (" + conversation + ")");

        nanos.addAndGet(EVERY_10_OR_5S.after().toNanos());
        buffer.flushDue();
        JsonNode afterTheLoss = chat.stored(conversation);
        chat.sql("DELETE FROM lose_commit");
        buffer.flushDue();
        buffer.flushDue();

        assertThat(afterTheLoss).as("the backend died before it committed").isEqualTo(json("{}"));
        assertThat(chat.stored(conversation)).as("written by the next check, once").isEqualTo(json("{\"affection\": 3}"));
        assertThat(lost(registry)).as("none lost").isZero();
    }

    @Test
    void an_unconfirmed_flush_that_a_row_refuses_when_sent_again_loses_only_that_rows_increments() throws SQLException {
        long pushedToTheLimit = chat.conversation();
        long fine = chat.conversation();
        chat.increment(pushedToTheLimit, "xp", 1);
        chat.increment(fine, "xp", 1);
        chat.sql("INSERT INTO lose_commit VALUES (" + fine + ")");
        nanos.addAndGet(EVERY_10_OR_5S.after().toNanos());
        buffer.flushDue(); // one batch of both, unconfirmed
        chat.sql("DELETE FROM lose_commit");
        // Another instance wrote its own increments meanwhile: this one's would now overflow.
        chat.sql("UPDATE conversations SET counters = '{\"xp\": " + Long.MAX_VALUE + "}' WHERE conversation_id = " + pushedToTheLimit);

        buffer.flushDue();

        assertThat(chat.stored(fine)).isEqualTo(json("{\"xp\": 1}"));
        assertThat(chat.stored(pushedToTheLimit)).isEqualTo(json("{\"xp\": " + Long.MAX_VALUE + "}"));
        assertThat(registry.get(Metrics.COUNTERS_LOST).tag("reason", "refused").counter().count()).isEqualTo(1);
    }

    @Test
    void a_flush_whose_commit_landed_but_whose_answer_was_lost_is_not_written_again() {
        try (RoundTrips line = RoundTrips.to(TestDatabase.get().target(DB));
             Database cut = TestDatabase.pool(line.target(), 2)) {
            buffer.close();
            buffer = new CounterBuffer(cut, cache, flushTasks::add, nanos::get, EVERY_10_OR_5S, registry);
            long conversation = chat.conversation();
            chat.increment(conversation, "affection", 3);
            line.cutAfterNextCommit();

            nanos.addAndGet(EVERY_10_OR_5S.after().toNanos());
            buffer.flushDue();
            JsonNode afterTheLoss = chat.stored(conversation);
            buffer.flushDue();
            buffer.flushDue();

            assertThat(afterTheLoss).as("committed, though the flush never heard so").isEqualTo(json("{\"affection\": 3}"));
            assertThat(chat.stored(conversation)).as("not written a second time").isEqualTo(json("{\"affection\": 3}"));
            assertThat(lost(registry)).as("none lost").isZero();
            buffer.close();
        }
    }

    @Test
    void a_row_that_refuses_its_increments_loses_only_them() throws SQLException {
        long pushedToTheLimit = chat.conversation();
        long fine = chat.conversation();
        chat.increment(pushedToTheLimit, "xp", 1);
        chat.increment(fine, "xp", 1);
        // Another instance wrote its own increments meanwhile: this one's would now overflow.
        chat.sql("UPDATE conversations SET counters = '{\"xp\": " + Long.MAX_VALUE + "}' WHERE conversation_id = " + pushedToTheLimit);

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        buffer.flushDue();

        assertThat(chat.stored(fine)).isEqualTo(json("{\"xp\": 1}"));
        assertThat(chat.stored(pushedToTheLimit)).isEqualTo(json("{\"xp\": " + Long.MAX_VALUE + "}"));
        assertThat(registry.get(Metrics.COUNTERS_LOST).tag("reason", "refused").counter().count()).isEqualTo(1);
        assertThat(buffer.running(Holder.conversation(chat.app, pushedToTheLimit)).isEmpty()).isTrue();
    }

    @Test
    void results_beyond_64_bits_and_stored_values_that_are_not_integers_are_refused_as_postgresql_would() throws SQLException {
        long conversation = chat.conversation();
        chat.sql("UPDATE conversations SET counters = '{\"mood\": \"warm\", \"huge\": 1e30, \"ratio\": 0.50, \"xp\": "
                + (Long.MAX_VALUE - 1) + "}' WHERE conversation_id = " + conversation);

        assertThatThrownBy(() -> chat.increment(conversation, "mood", 1)).isInstanceOf(Conflict.class);
        assertThatThrownBy(() -> chat.increment(conversation, "ratio", 1)).isInstanceOf(Conflict.class);
        assertThatThrownBy(() -> chat.increment(conversation, "huge", 1)).isInstanceOf(InvalidInput.class);
        chat.increment(conversation, "xp", 1);
        assertThatThrownBy(() -> chat.increment(conversation, "xp", 1)).isInstanceOf(InvalidInput.class)
                .hasMessageContaining("64-bit");
        JsonText shown = chat.increment(conversation, "affection", -3);

        assertThat(Json.parse(shown.text()).get("xp").asLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(shown.text()).as("what was stored by hand reads back as stored")
                .contains("\"mood\":\"warm\"").contains("\"huge\":1000000000000000000000000000000").contains("\"ratio\":0.50");
        buffer.close();
        assertThat(chat.stored(conversation).get("xp").asLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(chat.stored(conversation).get("affection").asLong()).isEqualTo(-3);
    }

    /** A durable increment refuses what a write-behind one refuses, in the same words: a "40" is not read as 40. */
    @Test
    void a_durable_increment_refuses_a_stored_value_as_a_write_behind_one_does_naming_the_counter() throws SQLException {
        long conversation = chat.conversation();
        chat.sql("UPDATE conversations SET counters = '{\"spelled\": \"40\", \"gone\": null, \"huge\": 1e30, \"xp\": "
                + Long.MAX_VALUE + "}' WHERE conversation_id = " + conversation);
        Holder holder = Holder.conversation(chat.app, conversation);

        for (String name : List.of("spelled", "gone", "huge", "xp")) {
            Throwable behind = catchThrowable(() -> chat.increment(conversation, name, 1));
            Throwable durable = catchThrowable(() -> buffer.increment(holder, Map.of(name, 1L), true,
                    () -> chat.storedDocument(conversation)));
            assertThat(durable).as(name).isNotNull().hasSameClassAs(behind).hasMessage(behind.getMessage()).hasMessageContaining(name);
        }
        assertThat(chat.stored(conversation).get("spelled").asText()).as("as stored by hand").isEqualTo("40");
    }

    /**
     * The deltas queued may sum beyond 64 bits while each value they make stays within: only a value outside is
     * refused, and a flush (first or after a failure) and a durable write carry the sum whole.
     */
    @Test
    void queued_increments_summing_beyond_64_bits_are_taken_and_written_when_the_counter_stays_within() throws SQLException {
        long flushed = chat.conversation();
        long refusedOnce = chat.conversation();
        long durable = chat.conversation();
        for (long conversation : List.of(flushed, refusedOnce, durable)) {
            chat.sql("UPDATE conversations SET counters = '{\"g\": " + -Long.MAX_VALUE + "}' WHERE conversation_id = " + conversation);
            chat.increment(conversation, "g", Long.MAX_VALUE);
        }
        chat.sql("INSERT INTO refuse_writes VALUES (" + refusedOnce + ")");
        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        buffer.flushDue(); // fails as a whole: the queued MAX goes back
        chat.sql("DELETE FROM refuse_writes");

        assertThat(json(chat.increment(flushed, "g", 1))).isEqualTo(json("{\"g\": 1}"));
        assertThat(json(chat.increment(refusedOnce, "g", 1))).isEqualTo(json("{\"g\": 1}"));
        assertThat(json(chat.increment(refusedOnce, "g", Long.MAX_VALUE - 1))).as("queued: 2 MAX")
                .isEqualTo(json("{\"g\": " + Long.MAX_VALUE + "}"));
        assertThatThrownBy(() -> chat.increment(refusedOnce, "g", 1)).as("the value would leave 64 bits")
                .isInstanceOf(InvalidInput.class).hasMessageContaining("64-bit");
        JsonText written = buffer.increment(Holder.conversation(chat.app, durable), Map.of("g", 1L), true,
                () -> chat.storedDocument(durable));
        assertThat(json(written)).isEqualTo(json("{\"g\": 1}"));

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        buffer.flushDue();
        assertThat(chat.stored(flushed)).isEqualTo(json("{\"g\": 1}"));
        assertThat(chat.stored(refusedOnce)).isEqualTo(json("{\"g\": " + Long.MAX_VALUE + "}"));
        assertThat(chat.stored(durable)).isEqualTo(json("{\"g\": 1}"));
        assertThat(lost(registry)).isZero();
    }

    @Test
    void closing_while_the_database_refuses_names_each_holder_and_its_increments_in_the_log_and_counts_them() throws SQLException {
        long refusing = chat.conversation();
        chat.increment(refusing, "affection", 2);
        chat.increment(refusing, "xp", 5);
        chat.sql("INSERT INTO refuse_writes VALUES (" + refusing + ")");
        var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(CounterBuffer.class);
        var log = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        log.start();
        logger.addAppender(log);
        try {
            buffer.close();
        } finally {
            logger.detachAppender(log);
            chat.sql("DELETE FROM refuse_writes");
        }

        assertThat(buffer.lostAtClose()).isEqualTo(2);
        assertThat(log.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("conversation " + refusing + " in app " + chat.app)
                        .contains("affection=2").contains("xp=5").contains("(shutdown)"));
    }

    @Test
    void closing_writes_every_increment_held_and_later_ones_are_written_at_once() {
        long conversation = chat.conversation();
        long user = chat.user("linus");
        chat.increment(conversation, "affection", 7);
        buffer.increment(Holder.user(chat.app, user), Map.of("level", 1L), false, () -> chat.storedUser(user));

        buffer.close();
        assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": 7}"));
        assertThat(json(chat.storedUser(user))).isEqualTo(json("{\"level\": 1}"));

        chat.increment(conversation, "affection", 1);
        assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": 8}"));
    }

    @Test
    void increments_from_many_threads_while_flushes_run_are_each_written_once() throws Exception {
        buffer = new CounterBuffer(database, cache, Runnable::run, nanos::get, new CounterFlush(7, Duration.ofHours(1)),
                new SimpleMeterRegistry());
        long conversation = chat.conversation();
        long user = chat.user("many");
        int threads = 16;
        int each = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        chat.increment(conversation, "affection", 1);
                        buffer.increment(Holder.user(chat.app, user), Map.of("xp", 2L), i % 10 == 9, () -> chat.storedUser(user));
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        } finally {
            pool.shutdown();
        }
        buffer.close();

        assertThat(chat.stored(conversation)).isEqualTo(json("{\"affection\": " + threads * each + "}"));
        assertThat(json(chat.storedUser(user))).isEqualTo(json("{\"xp\": " + 2 * threads * each + "}"));
    }

    /** Increments given up, whatever the reason. */
    private static double lost(MeterRegistry registry) {
        return registry.find(Metrics.COUNTERS_LOST).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static JsonNode json(String text) {
        return Json.parse(text);
    }

    private static JsonNode json(JsonText document) {
        return Json.parse(document.text());
    }

    private void runFlushes() {
        Runnable task;
        while ((task = flushTasks.poll()) != null) {
            task.run();
        }
    }

    /** An app of its own, its conversations and users, and their counters as PostgreSQL holds them. */
    private final class Chat {
        final long app = Apps.forCommands(database).create("counters-" + System.nanoTime()).appId();
        final Users users = new Users(database, ReadCache.none(), buffer);
        final long user = user("owner");
        final long character = new Characters(database, ReadCache.none())
                .create(app, new CharacterProfile.Draft("Luna", "You are Luna.", null, null, null)).id();

        long user(String externalId) {
            return users.upsert(app, externalId, null).user().id();
        }

        long conversation() {
            return new Conversations(database, new Ids(Clock.systemUTC()), ReadCache.none(), buffer).create(app,
                    new Conversation.Draft(user, List.of(character), "english", null, null, null)).id();
        }

        /** A write-behind increment, as the route makes it. */
        JsonText increment(long conversation, String name, long delta) {
            return buffer.increment(Holder.conversation(app, conversation), Map.of(name, delta), false,
                    () -> storedDocument(conversation));
        }

        JsonNode stored(long conversation) {
            return Json.parse(storedDocument(conversation).text());
        }

        JsonText storedDocument(long conversation) {
            return database.read(handle -> handle.first(new Query("test.conversation_counters",
                    "SELECT counters FROM conversations WHERE app_id = ? AND conversation_id = ?"),
                    row -> JsonText.stored(row.getString(1)), app, conversation)).orElseThrow();
        }

        JsonText storedUser(long userId) {
            return database.read(handle -> handle.first(new Query("test.user_counters",
                    "SELECT counters FROM users WHERE app_id = ? AND user_id = ?"),
                    row -> JsonText.stored(row.getString(1)), app, userId)).orElseThrow();
        }

        void sql(String statement) throws SQLException {
            try (var connection = TestDatabase.get().connect(DB); var sql = connection.createStatement()) {
                sql.execute(statement);
            }
        }
    }
}
