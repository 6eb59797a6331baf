package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A deletion and a write that names its subject, at the same moment: the write lands before the deletion and is
 * deleted with it, or after and is refused; never after and kept, naming what is gone. Most tests hold the deletion
 * at its very end (its audit row waits on a table lock the test holds), its subject's rows deleted and locked but not
 * committed, send the write then, and let the deletion commit.
 */
class ErasureRacesTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_guest_writing_while_taken_out_of_a_group_leaves_no_message_behind() throws Exception {
        String ada = Fixtures.user(api, "ada");
        String bo = Fixtures.user(api, "bo");
        String group = Fixtures.conversation(api, ada, Fixtures.character(api, "Luna"));
        api.postOk(201, "/v1/conversations/" + group + "/members", Map.of("user_id", bo));
        Fixtures.say(api, group, "user", "hello from Ada");

        var written = whileTakenOut(group, "user", bo, () -> api.post("/v1/conversations/" + group + "/messages",
                Map.of("role", "user", "content", "late", "user_id", bo)));

        assertThat(written.status()).as(written.text()).isEqualTo(400);
        assertThat(rows("SELECT count(*) FROM messages WHERE author_user_id = ?", bo)).isZero();
    }

    @Test
    void a_character_writing_while_taken_out_of_a_group_leaves_no_message_behind() throws Exception {
        String group = Fixtures.conversation(api, Fixtures.user(api, "ada"), Fixtures.character(api, "Luna"));
        String orion = Fixtures.character(api, "Orion");
        api.postOk(201, "/v1/conversations/" + group + "/members", Map.of("character_id", orion));

        var written = whileTakenOut(group, "character", orion, () -> api.post("/v1/conversations/" + group + "/messages",
                Map.of("role", "assistant", "content", "late", "character_id", orion)));

        assertThat(written.status()).as(written.text()).isEqualTo(400);
        assertThat(rows("SELECT count(*) FROM messages WHERE author_character_id = ?", orion)).isZero();
    }

    /**
     * Takes {@code member} out of {@code group} as an erasure's batch, a character's deletion or DELETE …/members does
     * (the group locked, the membership deleted, not yet committed), sends {@code write} until it waits for the group's
     * lock, then commits; the write's answer.
     */
    private static Api.Response whileTakenOut(String group, String kind, String member, Supplier<Api.Response> write)
            throws Exception {
        CompletableFuture<Api.Response> written;
        try (Connection removing = TestDatabase.get().connect(TestServer.DATABASE);
             Connection watch = TestDatabase.get().connect(TestServer.DATABASE)) {
            removing.setAutoCommit(false);
            update(removing, "SELECT 1 FROM conversations WHERE conversation_id = ? FOR UPDATE", group);
            update(removing, "DELETE FROM conversation_members WHERE conversation_id = ? AND member_kind = '" + kind
                    + "' AND member_id = " + Long.parseLong(member), group);
            written = CompletableFuture.supplyAsync(write);
            Wait.until("the append to wait for the group's lock", Duration.ofSeconds(10), () -> waiting(watch) >= 1);
            removing.commit();
        }
        return written.get();
    }

    @Test
    void a_user_added_to_a_group_while_being_erased_leaves_no_membership_behind() throws Exception {
        String ada = Fixtures.user(api, "ada");
        String bo = Fixtures.user(api, "bo");
        String group = Fixtures.conversation(api, ada, Fixtures.character(api, "Luna"));

        var joined = whileHeld(() -> api.delete("/v1/users/" + bo),
                () -> api.post("/v1/conversations/" + group + "/members", Map.of("user_id", bo)));

        assertThat(joined.status()).as(joined.text()).isBetween(400, 499);
        assertThat(rows("SELECT count(*) FROM conversation_members WHERE member_kind = 'user' AND member_id = ?", bo)).isZero();
    }

    @Test
    void a_memory_of_a_character_being_deleted_is_refused_not_kept() throws Exception {
        String ada = Fixtures.user(api, "ada");
        String luna = Fixtures.character(api, "Luna");

        var remembered = whileHeld(() -> api.delete("/v1/characters/" + luna),
                () -> api.post("/v1/users/" + ada + "/memories", Map.of("character_id", luna, "content", "likes tea")));

        assertThat(remembered.status()).as(remembered.text()).isBetween(400, 499);
        assertThat(rows("SELECT count(*) FROM memories WHERE character_id = ?", luna)).isZero();
    }

    @Test
    void a_memory_of_a_conversation_being_deleted_is_refused_not_kept() throws Exception {
        String ada = Fixtures.user(api, "ada");
        String luna = Fixtures.character(api, "Luna");
        String chat = Fixtures.conversation(api, ada, luna);

        var remembered = whileHeld(() -> api.delete("/v1/conversations/" + chat + "?memories=delete"),
                () -> api.post("/v1/users/" + ada + "/memories",
                        Map.of("character_id", luna, "conversation_id", chat, "content", "likes tea")));

        assertThat(remembered.status()).as(remembered.text()).isBetween(400, 499);
        assertThat(rows("SELECT count(*) FROM memories WHERE conversation_id = ?", chat)).isZero();
    }

    /**
     * Runs {@code deletion} until it waits to write its audit row, then {@code write} until it answers or waits on a
     * lock, then lets the deletion commit; the write's answer.
     */
    private static Api.Response whileHeld(Supplier<Api.Response> deletion, Supplier<Api.Response> write) throws Exception {
        CompletableFuture<Api.Response> deleted;
        CompletableFuture<Api.Response> written;
        try (Connection held = TestDatabase.get().connect(TestServer.DATABASE);
             Connection watch = TestDatabase.get().connect(TestServer.DATABASE)) {
            held.setAutoCommit(false);
            held.createStatement().execute("LOCK TABLE erasures IN SHARE ROW EXCLUSIVE MODE");
            deleted = CompletableFuture.supplyAsync(deletion);
            Wait.until("the deletion to wait at its audit row", Duration.ofSeconds(10), () -> waiting(watch) >= 1);
            written = CompletableFuture.supplyAsync(write);
            // Answered at once (the race lost), or waiting on a lock the deletion holds.
            Wait.until("the write to answer or wait", Duration.ofSeconds(10), () -> written.isDone() || waiting(watch) >= 2);
            held.rollback();
        }
        assertThat(deleted.get().status()).as(deleted.get().text()).isEqualTo(200);
        return written.get();
    }

    private static long waiting(Connection sql) throws SQLException {
        try (ResultSet row = sql.createStatement().executeQuery(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        + "WHERE NOT l.granted AND a.datname = current_database()")) {
            row.next();
            return row.getLong(1);
        }
    }

    private static void update(Connection connection, String sql, String id) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setLong(1, Long.parseLong(id));
            statement.execute();
        }
    }

    private static long rows(String sql, String id) throws SQLException {
        try (Connection connection = TestDatabase.get().connect(TestServer.DATABASE);
             PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setLong(1, Long.parseLong(id));
            try (ResultSet row = statement.executeQuery()) {
                row.next();
                return row.getLong(1);
            }
        }
    }
}
