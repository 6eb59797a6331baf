package dev.parley.apps;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.Invalidations;
import dev.parley.db.Database;
import dev.parley.db.Query;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.OptionalLong;

/**
 * API keys: {@code pk_} and 43 characters of base64url (256 random bits). Only the SHA-256 of a key
 * is stored. Resolving a key is cached for {@link #CACHE_TTL}; a revoked key stops working as soon as the
 * change is heard ({@link #forgetOnChange}), and within that time at the latest.
 */
public final class ApiKeys {
    static final Duration CACHE_TTL = Duration.ofSeconds(30);
    private static final String PREFIX = "pk_";
    private static final SecureRandom RANDOM = new SecureRandom();

    static final Query ISSUE = new Query("api_key.issue", """
            INSERT INTO api_keys (app_id, key_hash, key_prefix) VALUES (?, ?, ?)""");

    static final Query RESOLVE = new Query("api_key.resolve", """
            SELECT app_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL""");

    private final Database database;
    private final Cache<String, OptionalLong> resolved;

    public ApiKeys(Database database, Ticker ticker) {
        this.database = database;
        this.resolved = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(CACHE_TTL).maximumSize(100_000).build();
    }

    /** Forgets every cached key as soon as any key is revoked or deleted, here or on another instance (trigger, V9). */
    public void forgetOnChange(Invalidations invalidations) {
        invalidations.subscribe("api_keys", id -> resolved.invalidateAll(), resolved::invalidateAll);
    }

    /** Creates a key for the app and returns it: the only time the key itself exists outside the caller. */
    public String issue(long appId) {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        database.read(h -> h.execute(ISSUE, appId, hash(key), key.substring(0, 10)));
        return key;
    }

    /** The app a presented key belongs to, if the key is well-formed, known and not revoked. */
    public OptionalLong resolve(String presented) {
        if (presented == null || !presented.startsWith(PREFIX) || presented.length() != 46) {
            return OptionalLong.empty();
        }
        // Cached by the key as presented: a request whose key was seen needs no SHA-256, only the table does.
        return resolved.get(presented, this::lookUp);
    }

    private OptionalLong lookUp(String key) {
        return database.read(handle -> handle.first(RESOLVE, row -> row.getLong(1), hash(key)))
                .map(OptionalLong::of).orElse(OptionalLong.empty());
    }

    static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
