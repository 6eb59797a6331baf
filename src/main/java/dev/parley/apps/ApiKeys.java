package dev.parley.apps;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.Invalidations;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * API keys: {@code pk_} and 43 characters of base64url (256 random bits). Only the SHA-256 of a key
 * is stored. Resolving a key is cached for {@link #CACHE_TTL}; a revoked key stops working as soon as the
 * change is heard ({@link #forgetOnChange}), and within that time at the latest.
 *
 * <p>A key is named, where it must be named (listing, revoking, audit rows), by its id or by its public
 * prefix: {@code pk_} and 7 characters, as {@code api_keys.key_prefix} stores it. Rotating a key is
 * issuing a new one, moving the clients to it, then revoking the old one.
 */
public final class ApiKeys {
    static final Duration CACHE_TTL = Duration.ofSeconds(30);
    private static final String PREFIX = "pk_";
    /** "pk_" and 7 characters of the key: enough to tell an app's keys apart, far too little to guess the rest. */
    public static final int PREFIX_LENGTH = 10;
    private static final SecureRandom RANDOM = new SecureRandom();

    static final Query ISSUE = new Query("api_key.issue", """
            INSERT INTO api_keys (app_id, key_hash, key_prefix) VALUES (?, ?, ?) RETURNING key_id, created_at""");

    static final Query RESOLVE = new Query("api_key.resolve", """
            SELECT app_id, key_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL""");

    static final Query LIVE = new Query("api_key.live", """
            SELECT 1 FROM api_keys WHERE app_id = ? AND key_id = ? AND revoked_at IS NULL""");

    static final Query OF_APP = new Query("api_key.of_app", """
            SELECT key_id, key_prefix, created_at, revoked_at FROM api_keys WHERE app_id = ? ORDER BY key_id""");

    // A prefix could name two keys of one app (one in 2^42): those are found first, and nothing is revoked then.
    static final Query FIND = new Query("api_key.find", """
            SELECT key_id, key_prefix, created_at, revoked_at FROM api_keys
             WHERE app_id = ? AND (key_id = ?::bigint OR key_prefix = ?) FOR UPDATE""");

    // A key revoked before keeps the time it was first revoked.
    static final Query REVOKE = new Query("api_key.revoke", """
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE app_id = ? AND key_id = ?
            RETURNING key_id, key_prefix, created_at, revoked_at""");

    static final Query REVOKE_ALL = new Query("api_key.revoke_all", """
            UPDATE api_keys SET revoked_at = now() WHERE app_id = ? AND revoked_at IS NULL""");

    /** A key as listed: never the key itself, which is not stored. */
    public record Key(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String prefix, Instant createdAt, Instant revokedAt) {
    }

    /** Whose a working key is: its app's, and which of the app's keys it is (a user token names the key that minted it). */
    public record Holder(long appId, long keyId) {
    }

    /** A key just issued: the one time the key itself is shown. */
    public record Issued(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String prefix, Instant createdAt, String key) {
    }

    private static final RowMapper<Key> KEY = row -> new Key(row.getLong(1), row.getString(2), row.getTimestamp(3).toInstant(),
            instant(row.getTimestamp(4)));

    private final Database database;
    private final Cache<String, Optional<Holder>> resolved;
    private final Cache<Holder, Boolean> live; // whether the key that minted a user token still works

    public ApiKeys(Database database, Ticker ticker) {
        this.database = database;
        this.resolved = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(CACHE_TTL).maximumSize(100_000).build();
        this.live = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(CACHE_TTL).maximumSize(100_000).build();
    }

    /** Forgets every cached key as soon as any key is revoked or deleted, here or on another instance (trigger, V9). */
    public void forgetOnChange(Invalidations invalidations) {
        invalidations.subscribe("api_keys", id -> forget(), this::forget);
    }

    private void forget() {
        resolved.invalidateAll();
        live.invalidateAll();
    }

    /** Creates a key for the app and returns it: the only time the key itself exists outside the caller. */
    public Issued issue(long appId) {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String prefix = key.substring(0, PREFIX_LENGTH);
        return database.read(handle -> handle.first(ISSUE, row -> new Issued(row.getLong(1), prefix, row.getTimestamp(2).toInstant(), key),
                appId, hash(key), prefix).orElseThrow());
    }

    /** The app's keys, revoked ones too, oldest first. */
    public List<Key> of(long appId) {
        return database.read(handle -> handle.list(OF_APP, KEY, appId));
    }

    /** Refuses what names no key, before anything touches the database: a key's id, or its prefix. */
    public static void checkReference(String reference) {
        if (!reference.matches("[0-9]{1,18}|" + PREFIX + "[A-Za-z0-9_-]{" + (PREFIX_LENGTH - PREFIX.length()) + "}")) {
            throw new InvalidInput("key", "must be a key's id or its prefix (" + PREFIX + " and " + (PREFIX_LENGTH - PREFIX.length())
                    + " characters), as the app's list of keys shows them; got '" + reference + "'");
        }
    }

    /**
     * Revokes the app's key with this id or prefix; one revoked before stays as it was. Every instance
     * refuses it once the change is heard (V9), this one at once.
     */
    public Key revoke(long appId, String reference) {
        checkReference(reference);
        Long id = reference.startsWith(PREFIX) ? null : Long.valueOf(reference);
        Key revoked = database.inTransaction(handle -> {
            List<Key> found = handle.list(FIND, KEY, appId, id, reference);
            if (found.size() > 1) {
                throw new InvalidInput("key", "prefix " + reference + " names " + found.size() + " keys of the app; give the id");
            }
            if (found.isEmpty()) {
                throw NotFound.saying("the app has no key " + reference + "; list its keys to see their ids and prefixes");
            }
            return handle.first(REVOKE, KEY, appId, found.getFirst().id()).orElseThrow();
        });
        forget();
        return revoked;
    }

    /** Revokes every key of the app still in use; how many that was. */
    public int revokeAll(long appId) {
        int revoked = database.read(handle -> handle.execute(REVOKE_ALL, appId));
        forget();
        return revoked;
    }

    /** Whose a presented key is, if the key is well-formed, known and not revoked. */
    public Optional<Holder> resolve(String presented) {
        if (presented == null || !presented.startsWith(PREFIX) || presented.length() != 46) {
            return Optional.empty();
        }
        // Cached by the key as presented: a request whose key was seen needs no SHA-256, only the table does.
        return resolved.get(presented, this::lookUp);
    }

    private Optional<Holder> lookUp(String key) {
        return database.read(handle -> handle.first(RESOLVE, row -> new Holder(row.getLong(1), row.getLong(2)), hash(key)));
    }

    /** Whether the app's key {@code keyId} is there and not revoked: cached, and forgotten on a change, as resolving is. */
    public boolean works(Holder key) {
        return live.get(key, held -> database.read(handle -> handle.first(LIVE, row -> 1, held.appId(), held.keyId())).isPresent());
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
