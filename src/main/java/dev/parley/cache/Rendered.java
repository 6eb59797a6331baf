package dev.parley.cache;

import dev.parley.json.Json;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;

/**
 * A cached read: the object, the JSON a GET of it sends (made once, sent as it is on every hit), and
 * that JSON's ETag, so a client holding the same version gets 304 without the database being asked.
 */
public record Rendered<T>(T model, byte[] body, String etag) {
    private static final int ETAG_BYTES = 16;
    private static final long OVERHEAD_BYTES = 256;

    public static <T> Rendered<T> of(T model) {
        byte[] body = Json.writeBytes(model);
        return new Rendered<>(model, body, etagOf(body));
    }

    /** A strong ETag: the first 128 bits of the body's SHA-256, in base64url, quoted. */
    public static String etagOf(byte[] body) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            return "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest, ETAG_BYTES)) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** What it costs to keep: the JSON, and about as much again for the object it was made from. */
    long weight() {
        return 2L * body.length + OVERHEAD_BYTES;
    }
}
