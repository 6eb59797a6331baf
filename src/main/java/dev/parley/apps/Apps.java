package dev.parley.apps;

import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.Query;
import java.time.Instant;
import java.util.List;

/** The tenants: each app has its own characters, users and conversations, reachable only with its keys. */
public final class Apps {
    static final Query CREATE = new Query("app.create", "INSERT INTO apps (name) VALUES (?) RETURNING app_id");
    static final Query LIST = new Query("app.list", """
            SELECT a.app_id, a.name, a.created_at,
                   (SELECT count(*) FROM api_keys k WHERE k.app_id = a.app_id AND k.revoked_at IS NULL) AS active_keys
              FROM apps a ORDER BY a.app_id""");
    static final Query COUNT = new Query("app.count", "SELECT count(*) FROM apps");
    static final Query ID_BY_NAME = new Query("app.id_by_name", "SELECT app_id FROM apps WHERE name = ?");

    public record App(long id, String name, Instant createdAt, long activeKeys) {
    }

    /** A new app and its first API key, which is shown once and then only its hash is kept. */
    public record Created(long appId, String name, String apiKey) {
    }

    private final Database database;
    private final ApiKeys keys;

    /** The id of the app named {@code name}, for operator commands; IllegalArgumentException when there is none. */
    public static long idOf(Database database, String name) {
        return database.read(h -> h.first(ID_BY_NAME, row -> row.getLong(1), name))
                .orElseThrow(() -> new IllegalArgumentException("no app is named '" + name + "'"));
    }

    public Apps(Database database, ApiKeys keys) {
        this.database = database;
        this.keys = keys;
    }

    /** Refuses a name no app may have, before anything touches the database. */
    public static void checkName(String name) {
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
            throw new IllegalArgumentException("app names are 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit: '" + name + "'");
        }
    }

    public Created create(String name) {
        checkName(name);
        long appId;
        try {
            appId = database.read(h -> h.first(CREATE, row -> row.getLong(1), name).orElseThrow());
        } catch (DatabaseFailure e) {
            if ("23505".equals(e.sqlState())) {
                throw new IllegalArgumentException("an app named '" + name + "' already exists", e);
            }
            throw e;
        }
        return new Created(appId, name, keys.issue(appId));
    }

    public List<App> list() {
        return database.read(h -> h.list(LIST, row -> new App(row.getLong(1), row.getString(2),
                row.getTimestamp(3).toInstant(), row.getLong(4))));
    }

    public boolean isEmpty() {
        return database.read(h -> h.first(COUNT, row -> row.getLong(1)).orElse(0L)) == 0;
    }
}
