package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.cache.ReadCache;
import dev.parley.db.Database;
import dev.parley.db.Migrations;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Unread counts of conversations whose messages were deleted by a build before V26, which did not list deleted seqs:
 * a database at V25 with soft-deleted messages (deleted_at set) and hard-deleted ones (gaps in the seqs), some in the
 * archive, is migrated to this build's schema, and every member's count (members list, inbox) is what the rules give
 * had the deletes happened on this build: the messages past their marker that exist and are not deleted.
 */
class UnreadCountsAfterUpgradeTest {
    private static final String DB = "parley_unread_after_upgrade";
    private static final long APP = 1;
    // Conversation ids; a message's id is its conversation's plus its seq.
    private static final long FINDING = 1_000_000, GROUP = 2_000_000, SPILLED = 3_000_000, ALL_READ = 4_000_000,
            UNREAD_PAST_CAP = 5_000_000;

    private static Database database;
    private static Connection sql;
    private static long owner, guest, other, character, quiet;

    @BeforeAll
    static void plantOnTheOldBuildThenUpgrade() throws SQLException {
        database = TestDatabase.pool(TestDatabase.get().fresh(DB), 2);
        Flyway.configure().dataSource(database.dataSource()).locations("classpath:db/migration").target("25").load().migrate();
        sql = TestDatabase.get().connect(DB);
        run("INSERT INTO apps (name) VALUES ('upgraded')");
        owner = id("INSERT INTO users (app_id, external_id) VALUES (1, 'owner') RETURNING user_id");
        guest = id("INSERT INTO users (app_id, external_id) VALUES (1, 'guest') RETURNING user_id");
        other = id("INSERT INTO users (app_id, external_id) VALUES (1, 'other') RETURNING user_id");
        character = id("INSERT INTO characters (app_id, name) VALUES (1, 'Ada') RETURNING character_id");
        quiet = id("INSERT INTO characters (app_id, name) VALUES (1, 'Quiet') RETURNING character_id");
        // An archived month, as `parley archive` leaves one: its messages are not deleted ones.
        run("CREATE TABLE parley_archive.messages_planted PARTITION OF parley_archive.messages DEFAULT");

        // The finding: 33 messages, the owner has read 29; the old build soft-deleted 31 and hard-deleted 32.
        conversation(FINDING, owner, 33, Set.of(32), Set.of(31), Set.of());
        member(FINDING, "user", owner, 29, false);
        member(FINDING, "character", character, 33, false);

        // A group with a marker each; deletes below every marker (5, 7) count for no one. Its older months are
        // archived (seqs 1-18, with 12 and 17 soft-deleted and 15 hard-deleted there): the owner's window reaches them.
        var archived = new java.util.HashSet<Integer>();
        for (int seq = 1; seq <= 18; seq++) {
            archived.add(seq);
        }
        conversation(GROUP, owner, 40, Set.of(7, 15, 22, 38), Set.of(5, 12, 27, 17), archived);
        member(GROUP, "user", owner, 10, false);
        member(GROUP, "user", guest, 20, true);
        member(GROUP, "character", character, 25, false);
        member(GROUP, "character", quiet, 40, false);
        run("UPDATE conversations SET is_group = true WHERE conversation_id = " + GROUP);

        // More deleted past the owner's marker than the row lists (V28): 1,195 hard-deleted and one soft-deleted.
        var gone = new java.util.HashSet<Integer>();
        for (int seq = 6; seq <= 1200; seq++) {
            gone.add(seq);
        }
        conversation(SPILLED, other, 1205, gone, Set.of(3), Set.of());
        member(SPILLED, "user", other, 0, false);
        member(SPILLED, "character", character, 1205, false);

        // Read by everyone: its deleted message counts for no one, and the row is left as it was.
        conversation(ALL_READ, other, 10, Set.of(4), Set.of(6), Set.of());
        member(ALL_READ, "user", other, 10, false);
        member(ALL_READ, "character", character, 10, false);

        // An app that sets no read markers: 10,005 unread, the first 10,000 hard-deleted. Past 10,000 unread, V36 reads
        // nothing: such an app would have every message read while the port stays closed.
        var beyond = new java.util.HashSet<Integer>();
        for (int seq = 1; seq <= 10_000; seq++) {
            beyond.add(seq);
        }
        conversation(UNREAD_PAST_CAP, other, 10_005, beyond, Set.of(), Set.of());
        member(UNREAD_PAST_CAP, "user", other, 0, false);

        new Migrations(database.dataSource()).migrate();

        // This build then appends three replies to the finding's conversation, soft-deletes the first and
        // hard-deletes the second, by its own statements.
        for (int seq = 34; seq <= 36; seq++) {
            run("INSERT INTO messages (app_id, conversation_id, message_id, seq, author_character_id, created_at, role, content,"
                    + " user_id) VALUES (1, %d, %d, %d, %d, now(), 'assistant', 'reply', %d)".formatted(
                    FINDING, FINDING + seq, seq, character, owner));
        }
        run("UPDATE conversations SET last_seq = 36, message_count = message_count + 3, last_message_id = %d, activity_id = %d"
                .formatted(FINDING + 36, FINDING + 36) + " WHERE conversation_id = " + FINDING);
        run("UPDATE messages SET deleted_at = now() WHERE message_id = " + (FINDING + 34));
        execute(MessageLog.SOFT_DELETED.sql(), FINDING + 34, 34L, APP, FINDING);
        run("DELETE FROM messages WHERE message_id = " + (FINDING + 35));
        execute(MessageLog.UNCOUNT.sql(), 35L, APP, FINDING);
    }

    @AfterAll
    static void close() throws SQLException {
        sql.close();
        database.close();
    }

    @Test
    void the_old_builds_deletes_no_longer_count_as_unread_in_the_inbox() throws SQLException {
        assertThat(inboxUnread(owner).get(FINDING)).as("30, 33 and 36 are left past the marker at 29").isEqualTo(3L);
        assertThat(listed(FINDING)).containsExactly(35L, 34L, 32L, 31L);
    }

    @Test
    void every_member_of_a_group_counts_what_the_rules_give_and_deletes_below_every_marker_are_not_listed() throws SQLException {
        assertThat(membersUnread(GROUP)).isEqualTo(expected(GROUP)).containsEntry("user:" + owner, 24L)
                .containsEntry("user:" + guest, 17L).containsEntry("character:" + character, 13L);
        assertThat(inboxUnread(owner).get(GROUP)).isEqualTo(24L);
        assertThat(inboxUnread(guest).get(GROUP)).as("the guest's inbox").isEqualTo(17L);
        assertThat(listed(GROUP)).containsExactly(38L, 27L, 22L, 17L, 15L, 12L);
    }

    @Test
    void past_a_thousand_the_older_deletes_are_in_the_table_as_a_delete_would_put_them() throws SQLException {
        assertThat(membersUnread(SPILLED)).isEqualTo(expected(SPILLED)).containsEntry("user:" + other, 9L);
        assertThat(inboxUnread(other).get(SPILLED)).isEqualTo(9L);
        assertThat(listed(SPILLED)).hasSize(1000).startsWith(1200L, 1199L).endsWith(201L);
        assertThat(id("SELECT spilled_seq FROM conversations WHERE conversation_id = " + SPILLED)).isEqualTo(200);
        assertThat(id("SELECT count(*) FROM conversation_deleted_seqs WHERE conversation_id = " + SPILLED + " AND seq <= 200"))
                .as("6-200 hard-deleted and 3 soft-deleted").isEqualTo(196);
    }

    @Test
    void a_conversation_everyone_has_read_is_left_as_it_was() throws SQLException {
        assertThat(membersUnread(ALL_READ)).isEqualTo(expected(ALL_READ)).containsEntry("user:" + other, 0L);
        assertThat(listed(ALL_READ)).isEmpty();
        assertThat(id("SELECT count(*) FROM conversations WHERE deleted_seqs IS NULL AND conversation_id = " + ALL_READ))
                .isEqualTo(1);
    }

    @Test
    void a_window_past_ten_thousand_unread_is_left_alone() throws SQLException {
        assertThat(listed(UNREAD_PAST_CAP)).isEmpty();
        assertThat(id("SELECT count(*) FROM conversations WHERE deleted_seqs IS NULL AND conversation_id = " + UNREAD_PAST_CAP))
                .isEqualTo(1);
    }

    /** Seqs 1..lastSeq, but those hard-deleted; soft-deleted ones with deleted_at; archived ones in the archive. */
    private static void conversation(long id, long user, int lastSeq, Set<Integer> hard, Set<Integer> soft,
                                     Set<Integer> archived) throws SQLException {
        int last = lastSeq;
        while (hard.contains(last)) {
            last--;
        }
        run("""
                INSERT INTO conversations (app_id, conversation_id, user_id, character_id, last_seq, message_count,
                                           last_message_id, activity_id, created_at, last_activity_at, updated_at, last_message_role)
                VALUES (1, %d, %d, %d, %d, %d, %d, %d, now(), now(), now(), 'assistant')""".formatted(
                id, user, character, lastSeq, lastSeq - hard.size(), id + last, id + last));
        for (int seq = 1; seq <= lastSeq; seq++) {
            if (hard.contains(seq)) {
                continue;
            }
            run("""
                    INSERT INTO %s (app_id, conversation_id, message_id, seq, author_user_id, created_at, deleted_at, role,
                                    content, user_id, language)
                    VALUES (1, %d, %d, %d, %d, now(), %s, 'user', 'message %d', %d, 'english')""".formatted(
                    archived.contains(seq) ? "parley_archive.messages" : "messages", id, id + seq, seq, user,
                    soft.contains(seq) ? "now()" : "NULL", seq, user));
        }
    }

    private static void member(long conversation, String kind, long memberId, long readSeq, boolean isGuest) throws SQLException {
        run("INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id, read_seq, guest)"
                + " VALUES (1, %d, '%s', %d, %d, %s)".formatted(conversation, kind, memberId, readSeq, isGuest));
    }

    /** The rules: each member's messages past their marker that exist, hot or archived, and are not deleted. */
    private static Map<String, Long> expected(long conversation) throws SQLException {
        return counts("""
                SELECT mb.member_kind || ':' || mb.member_id,
                       (SELECT count(*) FROM (SELECT seq, deleted_at FROM messages WHERE conversation_id = mb.conversation_id
                                              UNION ALL
                                              SELECT seq, deleted_at FROM parley_archive.messages
                                               WHERE conversation_id = mb.conversation_id) m
                         WHERE m.seq > mb.read_seq AND m.deleted_at IS NULL)
                  FROM conversation_members mb WHERE mb.conversation_id = """ + conversation);
    }

    /** Each member's unread count as the members list gives it. */
    private static Map<String, Long> membersUnread(long conversation) {
        Map<String, Long> counts = new HashMap<>();
        for (var member : new Members(database, ReadCache.none()).list(APP, conversation)) {
            counts.put(member.kind() + ":" + member.id(), member.unreadCount());
        }
        return counts;
    }

    /** The user's inbox: each conversation's unread count. */
    private static Map<Long, Long> inboxUnread(long user) {
        Map<Long, Long> counts = new HashMap<>();
        for (var entry : new Inbox(database).page(APP, user, Inbox.Position.START, 50)) {
            counts.put(entry.conversationId(), entry.unreadCount());
        }
        return counts;
    }

    /** The conversation's deleted seqs as its row lists them, newest first. */
    private static List<Long> listed(long conversation) throws SQLException {
        List<Long> seqs = new ArrayList<>();
        try (var s = sql.createStatement();
             var rows = s.executeQuery("SELECT unnest(deleted_seqs) FROM conversations WHERE conversation_id = " + conversation)) {
            while (rows.next()) {
                seqs.add(rows.getLong(1));
            }
        }
        return seqs;
    }

    private static Map<String, Long> counts(String query) throws SQLException {
        Map<String, Long> counts = new HashMap<>();
        try (var s = sql.createStatement(); var rows = s.executeQuery(query)) {
            while (rows.next()) {
                counts.put(rows.getString(1), rows.getLong(2));
            }
        }
        return counts;
    }

    private static void execute(String statement, Object... parameters) throws SQLException {
        try (var s = sql.prepareStatement(statement)) {
            for (int i = 0; i < parameters.length; i++) {
                s.setObject(i + 1, parameters[i]);
            }
            s.executeUpdate();
        }
    }

    private static long id(String query) throws SQLException {
        try (var s = sql.createStatement(); var rows = s.executeQuery(query)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    private static void run(String statement) throws SQLException {
        try (var s = sql.createStatement()) {
            s.execute(statement);
        }
    }
}
