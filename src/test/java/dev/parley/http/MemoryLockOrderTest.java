package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Writers of several memory scopes lock them in one order, by user and then character: two batches naming two
 * characters in opposite orders deadlocked, and PostgreSQL's victim was answered 500. A deadlock that still happens is a
 * 503 with Retry-After, as a lock timeout is.
 */
class MemoryLockOrderTest {
    private final Api api = TestServer.newApp();
    private final String user = Fixtures.user(api, "u-" + System.nanoTime());
    private final String first = Fixtures.character(api, "First");
    private final String second = Fixtures.character(api, "Second"); // made after, so its id is the higher
    private final String memories = "/v1/users/" + user + "/memories";

    @Test
    void a_batch_naming_the_higher_character_first_locks_the_lower_ones_scope_first() throws Exception {
        api.postOk(201, memories, Map.of("character_id", first, "content", "one"));
        api.postOk(201, memories, Map.of("character_id", second, "content", "two"));

        try (Connection holder = locking(first)) {
            var batch = CompletableFuture.supplyAsync(() -> api.post(memories + "/batch", Map.of("memories", List.of(
                    Map.of("character_id", second, "content", "for the second"),
                    Map.of("character_id", first, "content", "for the first")))));
            Wait.until("the batch to wait on the first scope", Duration.ofSeconds(10), () -> waitsOnALock(holder));

            try (Connection other = locking(second, " NOWAIT")) {
                assertThat(batch).as("the batch still waits for the first scope").isNotDone();
                other.rollback(); // the second scope was free: the batch holds nothing while it waits for the first
            }
            holder.rollback();
            assertThat(batch.get().status()).as(batch.get().toString()).isEqualTo(201);
        }
    }

    @Test
    void deleting_a_conversations_memories_locks_their_scopes_in_order_too() throws Exception {
        String conversation = Fixtures.conversation(api, user, first);
        api.postOk(201, memories, Map.of("character_id", second, "content", "two", "conversation_id", conversation));
        api.postOk(201, memories, Map.of("character_id", first, "content", "one", "conversation_id", conversation));

        try (Connection holder = locking(first)) {
            var erased = CompletableFuture.supplyAsync(() -> api.delete("/v1/conversations/" + conversation + "?memories=delete"));
            Wait.until("the erasure to wait on the first scope", Duration.ofSeconds(10), () -> waitsOnALock(holder));

            try (Connection other = locking(second, " NOWAIT")) {
                other.rollback();
            }
            holder.rollback();
            assertThat(erased.get().status()).as(erased.get().toString()).isEqualTo(200);
        }
        assertThat(api.getOk(memories + "?character_id=" + first).get("memories")).isEmpty();
    }

    @Test
    void a_deadlock_postgresql_breaks_is_a_503_with_retry_after_not_a_500() {
        var deadlock = new dev.parley.db.DatabaseFailure(new SQLException("deadlock detected", "40P01"));

        var problem = Problems.toProblem(deadlock, "/v1/users/1/memories/batch");

        assertThat(problem.status()).isEqualTo(503);
        assertThat(problem.type()).endsWith("/database-busy");
        assertThat(problem.detail()).contains("nothing was changed").contains("retry");
    }

    /** A transaction of the test's that holds the row of the user's scope with {@code character}. */
    private Connection locking(String character) throws SQLException {
        return locking(character, "");
    }

    private Connection locking(String character, String wait) throws SQLException {
        Connection connection = TestDatabase.get().connect(TestServer.DATABASE);
        connection.setAutoCommit(false);
        try {
            connection.createStatement().execute("SELECT 1 FROM memory_scopes WHERE user_id = " + user + " AND character_id = "
                    + character + " FOR UPDATE" + wait);
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    private static boolean waitsOnALock(Connection connection) throws SQLException {
        return TestDatabase.lockWaits(connection, TestServer.DATABASE) > 0;
    }
}
