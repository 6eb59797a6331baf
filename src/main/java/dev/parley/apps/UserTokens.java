package dev.parley.apps;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.cache.Invalidations;
import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.Query;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived tokens an app's backend mints for one of its users, so a browser or a phone can reach that
 * user's conversations, messages, inbox, memories and search, and nothing else, without the app's key.
 *
 * <p>A token is {@code ut_<claims>.<signature>}: the claims (app, user, expiry, scopes, the key that minted it) in
 * base64url and their HMAC-SHA256 under a secret of the app's (V21). Any instance checks one with the secret and
 * whether the minting key still works, both cached; nothing is stored per token, so a token alone cannot be revoked
 * before it expires (keep them short: the default is an hour, the longest a day), but revoking its key ends it: a
 * leaked key's holder could otherwise have minted day-long tokens for every user that outlive the key.
 */
public final class UserTokens {
    public static final String PREFIX = "ut_";
    public static final Duration DEFAULT_TTL = Duration.ofHours(1);
    public static final int MIN_TTL_SECONDS = 60;
    public static final int MAX_TTL_SECONDS = 86_400;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ENCODE = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODE = Base64.getUrlDecoder();

    static final Query USER_EXISTS = new Query("user_token.user_exists", "SELECT 1 FROM users WHERE app_id = ? AND user_id = ?");
    static final Query SECRET = new Query("user_token.secret", "SELECT token_secret FROM apps WHERE app_id = ?");
    // Two instances making the first secret at once: the first write wins and both read it back.
    static final Query MAKE_SECRET = new Query("user_token.make_secret", """
            UPDATE apps SET token_secret = ? WHERE app_id = ? AND token_secret IS NULL""");

    /** What a token allows: reading (GET) and writing (the rest) its user's data. */
    public enum Scope { READ, WRITE }

    /** A token as issued: shown to the app's backend, which hands it to the user's device. */
    public record Issued(String token, @JsonFormat(shape = JsonFormat.Shape.STRING) long userId, Instant expiresAt,
                         List<String> scopes) {
    }

    /** What a valid token says. */
    public record Claims(long appId, long userId, Instant expiresAt, boolean read, boolean write) {
        public boolean allows(Scope scope) {
            return scope == Scope.READ ? read : write;
        }
    }

    private final Database database;
    private final ApiKeys keys;
    private final Clock clock;
    /** Each app's secret once read: it never changes once made. */
    private final Map<Long, byte[]> secrets = new ConcurrentHashMap<>();

    public UserTokens(Database database, ApiKeys keys, Clock clock) {
        this.database = database;
        this.keys = keys;
        this.clock = clock;
    }

    /**
     * Forgets the secrets read so far whenever keys change (V9's notice, sent too when an app is deleted), here
     * or on another instance: a deleted app's tokens then find no secret and stop working at once.
     */
    public void forgetOnChange(Invalidations invalidations) {
        invalidations.subscribe("api_keys", id -> secrets.clear(), secrets::clear);
    }

    /**
     * A token for the user {@code userId} of the key's app, valid for {@code ttl} from now or until the key is revoked;
     * NotFound when there is no such user.
     */
    public Issued issue(ApiKeys.Holder key, long userId, Duration ttl, List<Scope> scopes) {
        long appId = key.appId();
        if (database.read(handle -> handle.first(USER_EXISTS, row -> 1, appId, userId)).isEmpty()) {
            throw new NotFound("user", userId);
        }
        // In milliseconds, as the token carries it: a token lives its whole ttl, not up to a second less.
        Instant expiresAt = clock.instant().plus(ttl).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        boolean read = scopes.contains(Scope.READ);
        boolean write = scopes.contains(Scope.WRITE);
        String claims = appId + "." + userId + "." + expiresAt.toEpochMilli() + "." + (read ? "r" : "") + (write ? "w" : "")
                + "." + key.keyId();
        byte[] payload = claims.getBytes(StandardCharsets.US_ASCII);
        String token = PREFIX + ENCODE.encodeToString(payload) + "." + ENCODE.encodeToString(sign(secret(appId), payload));
        List<String> names = new ArrayList<>();
        scopes.stream().distinct().sorted().forEach(scope -> names.add(scope.name().toLowerCase(java.util.Locale.ROOT)));
        return new Issued(token, userId, expiresAt, names);
    }

    /**
     * What {@code presented} says, if it is a well-formed token of a known app, signed by it, not expired, and minted
     * by a key that still works. A token of a build before the key was named in it (four claims) is taken until it
     * expires, a day at most after the upgrade.
     */
    public Optional<Claims> verify(String presented) {
        if (presented == null || !presented.startsWith(PREFIX) || presented.length() > 200) {
            return Optional.empty();
        }
        String[] parts = presented.substring(PREFIX.length()).split("\\.", -1);
        if (parts.length != 2) {
            return Optional.empty();
        }
        try {
            byte[] payload = canonical(parts[0]);
            String[] fields = new String(payload, StandardCharsets.US_ASCII).split("\\.", -1);
            if (fields.length < 4 || fields.length > 5 || !fields[3].matches("r?w?")) {
                return Optional.empty();
            }
            long appId = Long.parseLong(fields[0]);
            byte[] secret = existingSecret(appId);
            if (secret == null || !MessageDigest.isEqual(sign(secret, payload), canonical(parts[1]))) {
                return Optional.empty();
            }
            Instant expiresAt = expiry(Long.parseLong(fields[2]));
            if (!clock.instant().isBefore(expiresAt)
                    || fields.length == 5 && !keys.works(new ApiKeys.Holder(appId, Long.parseLong(fields[4])))) {
                return Optional.empty();
            }
            return Optional.of(new Claims(appId, Long.parseLong(fields[1]), expiresAt, fields[3].contains("r"),
                    fields[3].contains("w")));
        } catch (IllegalArgumentException e) { // not base64, not numbers: not a token of ours
            return Optional.empty();
        }
    }

    /**
     * A token's expiry as carried: in milliseconds, or in seconds from builds before c11a2de, whose tokens still live.
     * As milliseconds, any value below 10^11 would be before 1973, and as seconds any above it after the year 5000.
     */
    private static Instant expiry(long carried) {
        return carried < 100_000_000_000L ? Instant.ofEpochSecond(carried) : Instant.ofEpochMilli(carried);
    }

    /**
     * The bytes of {@code text} if it is just as {@link #issue} spells them: base64url without padding, the last
     * character's unused low bits zero. The decoder alone ignores those bits and takes {@code =} padding, so one
     * token had many spellings, and a list or cache keyed by the token's text could be passed by another.
     */
    private static byte[] canonical(String text) {
        byte[] bytes = DECODE.decode(text);
        if (!ENCODE.encodeToString(bytes).equals(text)) {
            throw new IllegalArgumentException("not the canonical spelling");
        }
        return bytes;
    }

    private byte[] secret(long appId) {
        byte[] known = existingSecret(appId);
        if (known != null) {
            return known;
        }
        byte[] fresh = new byte[32];
        RANDOM.nextBytes(fresh);
        database.read(handle -> handle.execute(MAKE_SECRET, fresh, appId));
        return java.util.Objects.requireNonNull(existingSecret(appId), "the app is gone");
    }

    /** The app's secret, or null when the app has made no token yet (or does not exist). */
    private byte[] existingSecret(long appId) {
        byte[] cached = secrets.get(appId);
        if (cached != null) {
            return cached;
        }
        byte[] stored = database.read(handle -> handle.first(SECRET, row -> row.getBytes(1), appId)).orElse(null);
        if (stored != null) {
            secrets.put(appId, stored);
        }
        return stored;
    }

    private static byte[] sign(byte[] secret, byte[] payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(payload);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JVM has HmacSHA256", e);
        }
    }
}
