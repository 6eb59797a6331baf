package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The app's end users, upserted by the app's own id for them. */
public final class Users {
    private static final String COLUMNS = "user_id, external_id, profile, counters, created_at, updated_at, version";

    /*
     * xmax = 0 only on a freshly inserted row: it tells "created" from "updated" in one statement. An upsert that would
     * change nothing (no profile, or the stored one: the "get or create" an app calls at every login) writes nothing and
     * keeps the version, so an ETag a client holds stays good; the stored row is read instead. That read finds nothing
     * only when another transaction inserted the user after this statement began: then the statement is run again.
     */
    static final NamedQuery UPSERT = NamedQuery.of("user.upsert", """
            WITH written AS (
                INSERT INTO users (app_id, external_id, profile)
                VALUES (:app_id, :external_id, coalesce(:profile::jsonb, '{}'))
                ON CONFLICT (app_id, external_id) DO UPDATE
                   SET profile = excluded.profile, updated_at = now(), version = users.version + 1
                 WHERE users.profile IS DISTINCT FROM coalesce(:profile::jsonb, users.profile)
                RETURNING %1$s, (xmax = 0) AS created, true AS changed)
            SELECT * FROM written
            UNION ALL
            SELECT %1$s, false, false FROM users
             WHERE app_id = :app_id AND external_id = :external_id AND NOT EXISTS (SELECT 1 FROM written)""".formatted(COLUMNS));

    static final Query GET = new Query("user.get", """
            SELECT %s FROM users WHERE app_id = ? AND user_id = ?""".formatted(COLUMNS));

    static final Query FIND_BY_EXTERNAL_ID = new Query("user.find_by_external_id", """
            SELECT %s FROM users WHERE app_id = ? AND external_id = ?""".formatted(COLUMNS));

    // The profile is merged in the database (V8), and the version compared in this same statement (see Characters.UPDATE).
    static final Query PATCH = new Query("user.patch", """
            WITH given AS (SELECT ?::jsonb AS profile, ?::bigint AS required_version)
            UPDATE users u
               SET profile = coalesce(parley_merge_patch(u.profile, given.profile), u.profile),
                   updated_at = now(),
                   version = u.version + 1
              FROM given
             WHERE u.app_id = ? AND u.user_id = ?
               AND (given.required_version IS NULL OR u.version = given.required_version)
            RETURNING %s, octet_length(u.profile::text) AS profile_bytes""".formatted(COLUMNS.replaceAll("(\\w+)", "u.$1")));

    static final Query VERSION = new Query("user.version", "SELECT version FROM users WHERE app_id = ? AND user_id = ?");

    static final Query EXISTS = new Query("user.exists", "SELECT 1 FROM users WHERE app_id = ? AND user_id = ?");

    static final RowMapper<User> ROW = row -> new User(
            row.getLong("user_id"),
            row.getString("external_id"),
            JsonText.stored(row.getString("profile")),
            JsonText.stored(row.getString("counters")),
            row.getTimestamp("created_at").toInstant(),
            row.getTimestamp("updated_at").toInstant(),
            row.getLong("version"));

    private final Database database;
    private final ReadCache cache;
    private final CounterBuffer counters;

    public Users(Database database, ReadCache cache, CounterBuffer counters) {
        this.database = database;
        this.cache = cache;
        this.counters = counters;
    }

    /** The stored user and whether this call created it. */
    public record Upserted(User user, boolean created) {
    }

    /** An upsert's row, and whether it wrote one (created or changed the user). */
    private record Written(Upserted upserted, boolean changed) {
    }

    private static NamedQuery.Binding upsert(long appId, String externalId, String profile) {
        return UPSERT.bind("app_id", appId).bind("external_id", externalId).bind("profile", profile);
    }

    private static Written upserted(java.sql.ResultSet row) throws SQLException {
        return new Written(new Upserted(ROW.map(row), row.getBoolean("created")), row.getBoolean("changed"));
    }

    /** Creates the user, or replaces its profile when one is given; a null profile keeps the stored one. */
    public Upserted upsert(long appId, String externalId, JsonNode profile) {
        String json = profile == null ? null : profile.toString();
        Upserted upserted;
        try (ReadCache.Changing change = cache.changing()) {
            upserted = database.inTransaction(handle -> {
                var found = handle.first(upsert(appId, externalId, json), Users::upserted);
                Written row = found.isPresent() ? found.get()
                        : handle.first(upsert(appId, externalId, json), Users::upserted).orElseThrow();
                if (row.changed() && !row.upserted().created()) {
                    change.mark(List.of(Scope.user(appId, row.upserted().user().id())));
                }
                return row.upserted();
            });
        }
        if (upserted.created()) {
            return upserted;
        }
        // The id is known only from the row, so the running counters are taken after it, not before.
        return new Upserted(withRunning(appId, upserted.user()), false);
    }

    /**
     * Merges {@code profilePatch} into the profile (RFC 7396) when the user is at {@code requiredVersion}
     * (null: whatever its version). A merged profile over {@code maxProfileBytes} as stored is refused.
     */
    public User patch(long appId, long userId, JsonNode profilePatch, Long requiredVersion, int maxProfileBytes) {
        User patched;
        try (ReadCache.Changing change = cache.changing()) {
            patched = database.inTransaction(handle -> {
                var row = handle.first(PATCH, r -> new Patched(ROW.map(r), r.getLong("profile_bytes")),
                        profilePatch == null ? null : profilePatch.toString(), requiredVersion, appId, userId);
                if (row.isEmpty()) {
                    throw handle.first(VERSION, r -> r.getLong(1), appId, userId)
                            .<RuntimeException>map(current -> new StaleVersion("user", userId, requiredVersion, current))
                            .orElseGet(() -> new NotFound("user", userId));
                }
                if (row.get().profileBytes() > maxProfileBytes) {
                    throw new InvalidInput("profile", "would be " + row.get().profileBytes()
                            + " bytes of JSON once merged; the limit is " + maxProfileBytes);
                }
                change.mark(List.of(Scope.user(appId, userId)));
                return row.get().user();
            });
        }
        return withRunning(appId, patched);
    }

    private record Patched(User user, long profileBytes) {
    }

    public User get(long appId, long userId) {
        return rendered(appId, userId).model();
    }

    /** The user as a GET sends it: from the cache, or read and kept there; its counters as this instance runs them. */
    public Rendered<User> rendered(long appId, long userId) {
        var running = counters.running(CounterBuffer.Holder.user(appId, userId)); // before the row is read
        Rendered<User> stored = stored(appId, userId);
        return running.isEmpty() ? stored : Rendered.of(stored.model().withCounters(running.over(stored.model().counters())));
    }

    /** The user as stored: from the cache, or read and kept there. */
    private Rendered<User> stored(long appId, long userId) {
        return cache.get(Scope.user(appId, userId), "user", User.class, () -> database.read(handle -> handle.first(GET, ROW, appId, userId))
                .orElseThrow(() -> new NotFound("user", userId)));
    }

    /**
     * Adds each delta to the user's named counter (a missing counter starts at 0) and returns all counters:
     * in memory, written within the flush window ({@link CounterBuffer}), or at once when {@code durable}.
     */
    public JsonText incrementCounters(long appId, long userId, Map<String, Long> deltas, boolean durable) {
        return counters.increment(CounterBuffer.Holder.user(appId, userId), deltas, durable,
                () -> stored(appId, userId).model().counters());
    }

    private User withRunning(long appId, User user) {
        var running = counters.running(CounterBuffer.Holder.user(appId, user.id()));
        return running.isEmpty() ? user : user.withCounters(running.over(user.counters()));
    }

    /** Throws {@link NotFound} unless the app has this user: for reads that come back empty either way. */
    public static void require(Handle handle, long appId, long userId) throws SQLException {
        if (handle.first(EXISTS, row -> true, appId, userId).isEmpty()) {
            throw new NotFound("user", userId);
        }
    }

    public Optional<User> findByExternalId(long appId, String externalId) {
        return database.read(handle -> handle.first(FIND_BY_EXTERNAL_ID, ROW, appId, externalId)).map(user -> withRunning(appId, user));
    }
}
