package dev.parley.apps;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.chat.Conflict;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.lifecycle.Erasure;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenants: each app has its own characters, users and conversations, reachable only with its keys.
 * What an operator does to apps, by name: the {@code parley apps} commands and the admin port's
 * {@code /admin/apps} routes both call this class.
 */
public final class Apps {
    private static final Logger LOG = LoggerFactory.getLogger(Apps.class);
    /** Who asked, in the audit rows of the erasures an app's deletion makes (deleted with the app). */
    private static final String DELETION = "app deletion";
    /**
     * What an app's deletion counts, in this order. Not the memories its erasures unlink from deleted
     * conversations: each is deleted with its user, and counted there.
     */
    private static final List<String> DELETED_KINDS = List.of("api_keys_revoked", "users", "characters", "conversations",
            "messages", "memberships", "idempotency_keys", "memories", "memory_scopes");
    /** Users or characters listed at a time while an app is deleted. */
    private static final int DELETE_BATCH = 500;

    static final Query CREATE = new Query("app.create", "INSERT INTO apps (name) VALUES (?) RETURNING app_id, created_at");
    static final Query LIST = new Query("app.list", """
            SELECT a.app_id, a.name, a.created_at,
                   (SELECT count(*) FROM api_keys k WHERE k.app_id = a.app_id AND k.revoked_at IS NULL) AS active_keys,
                   a.allowed_origins
              FROM apps a ORDER BY a.app_id""");
    static final Query COUNT = new Query("app.count", "SELECT count(*) FROM apps");
    static final Query ID_BY_NAME = new Query("app.id_by_name", "SELECT app_id FROM apps WHERE name = ?");
    static final Query USERS = new Query("app.users_to_delete", """
            SELECT user_id FROM users WHERE app_id = ? ORDER BY user_id LIMIT ?""");
    static final Query CHARACTERS = new Query("app.characters_to_delete", """
            SELECT character_id FROM characters WHERE app_id = ? ORDER BY character_id LIMIT ?""");

    // Conversations started after the erasures listed their user (with a key another instance had not yet
    // dropped): deleted first, as the app's row cannot go while one still names a character.
    static final Query DELETE_CONVERSATIONS_LEFT = new Query("app.delete_conversations_left", """
            DELETE FROM conversations WHERE app_id = ?""");

    // The other tables with an app_id reach apps through foreign keys that cascade.
    static final Query DELETE = new Query("app.delete", "DELETE FROM apps WHERE app_id = ?");

    // Run last, as its own statement: messages (no foreign key, being partitioned) that an append committed
    // while their conversation was being deleted are seen now, and go too.
    static final NamedQuery SWEEP = NamedQuery.of("app.sweep_messages", """
            WITH messages_gone AS (
                    DELETE FROM messages WHERE app_id = :app_id RETURNING 1),
                 archived_gone AS (
                    DELETE FROM parley_archive.messages WHERE app_id = :app_id RETURNING 1),
                 keys_gone AS (
                    DELETE FROM message_idempotency_keys WHERE app_id = :app_id RETURNING 1)
            SELECT (SELECT count(*) FROM messages_gone) + (SELECT count(*) FROM archived_gone), (SELECT count(*) FROM keys_gone)""");

    public record App(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String name, Instant createdAt, long activeKeys,
                      List<String> allowedOrigins) {
    }

    /** A new app and its first API key, which is shown once and then only its hash is kept. */
    public record Created(App app, ApiKeys.Issued key) {
        public long appId() {
            return app.id();
        }

        public String name() {
            return app.name();
        }

        public String apiKey() {
            return key.key();
        }
    }

    /** What deleting an app removed: rows by kind, as the erasures of its users and characters counted them. */
    public record Deleted(String name, @JsonFormat(shape = JsonFormat.Shape.STRING) long id, Map<String, Long> rows) {
    }

    /** Rows the last transaction found: written while the app's users and characters were being erased. */
    private record Swept(long conversations, long messages, long idempotencyKeys) {
    }

    private final Database database;
    private final ApiKeys keys;
    private final Origins origins;
    private final Erasure erasure;

    public Apps(Database database, ApiKeys keys, Origins origins, Erasure erasure) {
        this.database = database;
        this.keys = keys;
        this.origins = origins;
        this.erasure = erasure;
    }

    /**
     * Apps for an operator command (or a test), which caches nothing: running servers follow what it changes
     * through the database's notices (V9, V10, V22).
     */
    public static Apps forCommands(Database database) {
        return new Apps(database, new ApiKeys(database, Ticker.systemTicker()), new Origins(database, Ticker.systemTicker()),
                Erasure.forCommands(database, Clock.systemUTC()));
    }

    /** The id of the app named {@code name}, for operator commands; NotFound when there is none. */
    public static long idOf(Database database, String name) {
        return database.read(handle -> handle.first(ID_BY_NAME, row -> row.getLong(1), name))
                .orElseThrow(() -> NotFound.saying("no app is named '" + name + "'"));
    }

    /** Refuses a name no app may have, before anything touches the database. */
    public static void checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
            throw new InvalidInput("name", (name == null ? "is required: " : "'" + name + "' is not an app name: ")
                    + "app names are 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }
    }

    public Created create(String name) {
        checkName(name);
        App app;
        try {
            app = database.read(handle -> handle.first(CREATE, row -> new App(row.getLong(1), name, row.getTimestamp(2).toInstant(), 1,
                    List.of()), name).orElseThrow());
        } catch (DatabaseFailure e) {
            if ("23505".equals(e.sqlState())) {
                throw new Conflict("app-exists", "an app named '" + name + "' already exists");
            }
            throw e;
        }
        return new Created(app, keys.issue(app.id()));
    }

    public List<App> list() {
        return database.read(handle -> handle.list(LIST, row -> new App(row.getLong(1), row.getString(2),
                row.getTimestamp(3).toInstant(), row.getLong(4), List.of((String[]) row.getArray(5).getArray()))));
    }

    public boolean isEmpty() {
        return database.read(handle -> handle.first(COUNT, row -> row.getLong(1)).orElse(0L)) == 0;
    }

    /** The app's keys, revoked ones too; never a key itself. */
    public List<ApiKeys.Key> keys(String app) {
        return keys.of(id(app));
    }

    /** A new key for the app, alongside those it has: the first step of rotating a key. */
    public ApiKeys.Issued issueKey(String app) {
        return keys.issue(id(app));
    }

    /** Revokes the app's key with this id or prefix: every instance refuses it within a second. */
    public ApiKeys.Key revokeKey(String app, String key) {
        return keys.revoke(id(app), key);
    }

    /** Replaces the browser origins the app allows (none: no browser may read its answers); returns them as stored. */
    public List<String> setOrigins(String app, List<String> allowed) {
        return origins.set(id(app), allowed);
    }

    /**
     * Deletes the app and everything it holds. Its keys are revoked first, so nothing new is written
     * with them; then its users and characters are erased as a DELETE of each would (in short batched
     * transactions, dropping what every instance cached); then, in one transaction, whatever was started
     * meanwhile, the app's row, which takes the rest with it, and last the messages no foreign key reaches.
     * A deletion cut short leaves the app with its keys revoked and less data; running it again finishes it.
     */
    public Deleted delete(String app) {
        long appId = id(app);
        var rows = new LinkedHashMap<String, Long>();
        DELETED_KINDS.forEach(kind -> rows.put(kind, 0L));
        rows.put("api_keys_revoked", (long) keys.revokeAll(appId));
        eraseEach(USERS, appId, userId -> erasure.eraseUser(appId, userId, DELETION), rows);
        eraseEach(CHARACTERS, appId, characterId -> erasure.deleteCharacter(appId, characterId, DELETION), rows);
        Swept swept = deleteTheRest(appId);
        rows.merge("conversations", swept.conversations(), Long::sum);
        rows.merge("messages", swept.messages(), Long::sum);
        rows.merge("idempotency_keys", swept.idempotencyKeys(), Long::sum);
        LOG.info("deleted app '{}' (id {}): {}", app, appId, rows);
        return new Deleted(app, appId, Collections.unmodifiableMap(rows));
    }

    /** Erases each subject {@code find} lists, a batch at a time, until none is left; adds up what the erasures counted. */
    private void eraseEach(Query find, long appId, LongFunction<Erasure.Erased> erase, Map<String, Long> rows) {
        List<Long> batch;
        do {
            batch = database.read(handle -> handle.list(find, row -> row.getLong(1), appId, DELETE_BATCH));
            for (long id : batch) {
                try {
                    erase.apply(id).rows().forEach((kind, count) -> rows.computeIfPresent(kind, (k, sum) -> sum + count));
                } catch (NotFound e) {
                    // erased meanwhile by a request still holding a key: nothing left to do for it
                }
            }
        } while (!batch.isEmpty());
    }

    /** In one transaction: what was started while the erasures ran, the app's row with what cascades from it, the messages. */
    private Swept deleteTheRest(long appId) {
        return database.inTransaction(handle -> {
            int conversations = handle.execute(DELETE_CONVERSATIONS_LEFT, appId);
            handle.execute(DELETE, appId);
            return handle.first(SWEEP.bind("app_id", appId), row -> new Swept(conversations, row.getLong(1), row.getLong(2)))
                    .orElseThrow();
        });
    }

    /** The id of the app named {@code name}: InvalidInput for a name no app may have, NotFound for none. */
    private long id(String name) {
        checkName(name);
        return idOf(database, name);
    }
}
