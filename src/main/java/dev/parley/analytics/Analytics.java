package dev.parley.analytics;

import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import java.sql.Date;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;

/**
 * Reads of the analytics views (V14), one app at a time. The numbers are as of the last refresh,
 * which every answer carries as {@code refreshed_at}; {@link AnalyticsRefresh} moves it.
 */
public final class Analytics {
    static final Query CHARACTER_DAYS = new Query("analytics.character_days", """
            SELECT day, character_id, messages FROM analytics_character_days
             WHERE app_id = ? AND day BETWEEN ? AND ?
             ORDER BY day, character_id""");

    static final Query ONE_CHARACTER_DAYS = new Query("analytics.one_character_days", """
            SELECT day, character_id, messages FROM analytics_character_days
             WHERE app_id = ? AND day BETWEEN ? AND ? AND character_id = ?
             ORDER BY day""");

    static final Query ACTIVE_DAYS = new Query("analytics.active_days", """
            SELECT day, users FROM analytics_active_days
             WHERE app_id = ? AND day BETWEEN ? AND ?
             ORDER BY day""");

    static final Query ACTIVE_MONTHS = new Query("analytics.active_months", """
            SELECT month, users FROM analytics_active_months
             WHERE app_id = ? AND month BETWEEN date_trunc('month', ?::date)::date AND ?
             ORDER BY month""");

    static final Query CONVERSATION_DAYS = new Query("analytics.conversation_days", """
            SELECT day, conversations FROM analytics_conversation_days
             WHERE app_id = ? AND day BETWEEN ? AND ?
             ORDER BY day""");

    static final Query CONVERSATION_ROLES = new Query("analytics.conversation_roles", """
            SELECT role, messages FROM analytics_conversation_roles
             WHERE app_id = ? AND conversation_id = ?
             ORDER BY role""");

    static final Query CONVERSATION_EXISTS = new Query("analytics.conversation_exists", """
            SELECT 1 FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    static final Query REFRESHED_AT = new Query("analytics.refreshed_at", """
            SELECT refreshed_at FROM analytics_refresh""");

    /** Messages character {@code characterId} wrote on {@code day}. */
    public record CharacterDay(String day, String characterId, long messages) {
    }

    /** Distinct users who sent a message in a day, or in a month ({@code day}: its first day). */
    public record ActiveUsers(String day, long users) {
    }

    public record ConversationsStarted(String day, long conversations) {
    }

    public record RoleCount(String role, long messages) {
    }

    /** Each answer: rows as of {@code refreshedAt}, the start of the last refresh. */
    public record CharacterMessages(Instant refreshedAt, List<CharacterDay> days) {
    }

    public record ActiveUserCounts(Instant refreshedAt, List<ActiveUsers> periods) {
    }

    public record ConversationStarts(Instant refreshedAt, List<ConversationsStarted> days) {
    }

    public record ConversationRoles(Instant refreshedAt, List<RoleCount> roles) {
    }

    private final Database database;

    public Analytics(Database database) {
        this.database = database;
    }

    /** Messages per character per day within [from, to], of every character or of one when {@code characterId} is not null. */
    public CharacterMessages characterDays(long appId, LocalDate from, LocalDate to, Long characterId) {
        return database.readNearby(handle -> {
            var rows = characterId == null
                    ? handle.list(CHARACTER_DAYS, Analytics::characterDay, appId, Date.valueOf(from), Date.valueOf(to))
                    : handle.list(ONE_CHARACTER_DAYS, Analytics::characterDay, appId, Date.valueOf(from), Date.valueOf(to),
                            characterId);
            return new CharacterMessages(refreshedAt(handle), rows);
        });
    }

    public ActiveUserCounts activeDays(long appId, LocalDate from, LocalDate to) {
        return database.readNearby(handle -> new ActiveUserCounts(refreshedAt(handle), handle.list(ACTIVE_DAYS,
                row -> new ActiveUsers(day(row), row.getLong(2)), appId, Date.valueOf(from), Date.valueOf(to))));
    }

    /** Monthly active users of the months that [from, to] touches. */
    public ActiveUserCounts activeMonths(long appId, LocalDate from, LocalDate to) {
        return database.readNearby(handle -> new ActiveUserCounts(refreshedAt(handle), handle.list(ACTIVE_MONTHS,
                row -> new ActiveUsers(day(row), row.getLong(2)), appId, Date.valueOf(from), Date.valueOf(to))));
    }

    public ConversationStarts conversationsStarted(long appId, LocalDate from, LocalDate to) {
        return database.readNearby(handle -> new ConversationStarts(refreshedAt(handle), handle.list(CONVERSATION_DAYS,
                row -> new ConversationsStarted(day(row), row.getLong(2)),
                appId, Date.valueOf(from), Date.valueOf(to))));
    }

    /** One conversation's messages by role; {@link NotFound} when the app has no such conversation. */
    public ConversationRoles conversationRoles(long appId, long conversationId) {
        return database.readNearby(handle -> {
            if (handle.first(CONVERSATION_EXISTS, row -> true, appId, conversationId).isEmpty()) {
                throw new NotFound("conversation", conversationId);
            }
            return new ConversationRoles(refreshedAt(handle), handle.list(CONVERSATION_ROLES,
                    row -> new RoleCount(row.getString(1), row.getLong(2)), appId, conversationId));
        });
    }

    private static CharacterDay characterDay(ResultSet row) throws SQLException {
        return new CharacterDay(day(row), Long.toString(row.getLong(2)), row.getLong(3));
    }

    /** The first column, an SQL date, as ISO text ("2026-12-01"), whatever the JVM's time zone. */
    private static String day(ResultSet row) throws SQLException {
        return row.getObject(1, LocalDate.class).toString();
    }

    private static Instant refreshedAt(Handle handle) throws SQLException {
        return handle.first(REFRESHED_AT, row -> row.getTimestamp(1).toInstant()).orElseThrow();
    }
}
