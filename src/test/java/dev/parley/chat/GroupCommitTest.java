package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import dev.parley.chat.GroupCommit.Appended;
import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The group-commit engine driven one batch at a time: the test owns the writers' executor and runs each batch itself. */
class GroupCommitTest {
    private static final String DB = "parley_group_commit";
    private static final String POISON = "a message the database refuses";

    private static Database database;
    private static Ids ids;

    private final Queue<Runnable> writerTasks = new ArrayDeque<>();

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
        }
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void one_batch_commits_its_good_units_refuses_the_invalid_ones_and_stores_nothing_of_a_failing_one() {
        var app = new Chat("mixed");
        long first = app.conversation();
        long second = app.conversation();
        GroupCommit appends = engine();
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
        var stats = new Stats(database);
        assertThat(stats.conversation(app.id, first)).as("the user has read up to their own last message")
                .isEqualTo(new Stats.ConversationStats(3, 3, 1));
        assertThat(stats.conversation(app.id, second)).isEqualTo(new Stats.ConversationStats(2, 2, 1));
    }

    /** An engine with one writer that runs only when the test runs its task. */
    private GroupCommit engine() {
        return new GroupCommit(new BatchWriter(database, ids), writerTasks::add, 1, new SimpleMeterRegistry());
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

    /** An app of its own with one user and one character, and what it stored. */
    private static final class Chat {
        final long id;
        final long userId;
        final long characterId;

        Chat(String name) {
            id = new Apps(database, new ApiKeys(database, Ticker.systemTicker())).create(name + "-" + System.nanoTime()).appId();
            userId = new Users(database).upsert(id, "user", null).user().id();
            characterId = new Characters(database).create(id, new CharacterProfile.Draft("Luna", "You are Luna.", null, null, null)).id();
        }

        long conversation() {
            return new Conversations(database, ids).create(id,
                    new Conversation.Draft(userId, List.of(characterId), "english", null, null, null)).id();
        }

        List<String> contents(long conversationId) {
            return database.read(handle -> handle.list(new Query("test.contents",
                    "SELECT content FROM messages WHERE app_id = ? AND conversation_id = ? ORDER BY seq"),
                    row -> row.getString(1), id, conversationId));
        }

        List<String> keys() {
            return database.read(handle -> handle.list(new Query("test.keys",
                    "SELECT idempotency_key FROM message_idempotency_keys WHERE app_id = ? ORDER BY idempotency_key"),
                    row -> row.getString(1), id));
        }
    }
}
