package dev.parley.cache;

import dev.parley.json.Json;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;

/**
 * A cached read: the object, the JSON a GET of it sends (made once, sent as it is on every hit), and
 * that JSON's ETag, so a client holding the same version gets 304 without the database being asked.
 * Gzipped once too, on the first request that accepts gzip: most HTTP libraries ask for it, and
 * compressing a 28 KB history page took more of the server's CPU than the rest of a hit
 * (docs/benchmarks.md, "Cache hits sent gzipped").
 *
 * <p>A view kept {@link #withoutModel without its model} holds only what a GET sends: a history page's
 * 50 messages are hundreds of small objects, which every young collection copies while the page is new
 * and which weigh as much again as its JSON ("Cached pages kept as their JSON" in docs/benchmarks.md).
 * Its {@link #model} is then read back from the JSON, for the rare caller that wants it.
 */
public final class Rendered<T> {
    private static final int ETAG_BYTES = 16;
    private static final int VERSION_BYTES = Long.BYTES;
    private static final int WHICH_BYTES = Integer.BYTES;
    private static final long OVERHEAD_BYTES = 256;

    private final T model; // null when kept without it: read back from body as a type
    private final Class<T> type; // null when the model is held
    private final byte[] body;
    private final String etag;
    private volatile byte[] gzipped; // made by the first request that wants it; two at once both make it, harmlessly

    public Rendered(T model, byte[] body, String etag) {
        this(model, null, body, etag);
    }

    private Rendered(T model, Class<T> type, byte[] body, String etag) {
        this.model = model;
        this.type = type;
        this.body = body;
        this.etag = etag;
    }

    /**
     * The object rendered; read back from the JSON (a new one each call) when the view was kept without it, as a view
     * from Redis is, so a field the JSON leaves out (an inbox entry's activity id) reads as zero or null.
     */
    public T model() {
        if (model != null) {
            return model;
        }
        return ViewReader.read(body, type).orElseThrow(() -> new IllegalStateException(
                "a " + type.getSimpleName() + " view whose JSON does not read back"));
    }

    /** This view holding only its JSON and ETag; {@code type} reads the model back when someone asks for it. */
    Rendered<T> withoutModel(Class<T> type) {
        return new Rendered<>(null, type, body, etag);
    }

    /** The JSON a GET sends. */
    public byte[] body() {
        return body;
    }

    public String etag() {
        return etag;
    }

    /** The body as {@code gzip} compresses it, compressed once however many times it is sent. */
    public byte[] gzipped(UnaryOperator<byte[]> gzip) {
        byte[] made = gzipped;
        if (made == null) {
            made = gzip.apply(body);
            gzipped = made;
        }
        return made;
    }

    public static <T> Rendered<T> of(T model) {
        byte[] body = Json.writeBytes(model);
        return new Rendered<>(model, body, etagOf(model, body));
    }

    /** A strong ETag: the first 128 bits of the body's SHA-256, in base64url, quoted. */
    public static String etagOf(byte[] body) {
        return quoted(Arrays.copyOf(sha256(body), ETAG_BYTES));
    }

    /**
     * As {@link #etagOf(byte[])}; a {@link Versioned} model's tag carries its version in its first 64 bits, which
     * document it is in the next 32 ({@link #which}) and the body's hash in the last 32, so a PATCH's If-Match is
     * compared in SQL, by version, and only for the document it was read from: with the version alone, another
     * document's tag at the same version (or one made up) passed a PATCH or a DELETE, which a GET refused.
     */
    public static String etagOf(Object model, byte[] body) {
        if (!(model instanceof Versioned versioned)) {
            return etagOf(body);
        }
        return quoted(ByteBuffer.allocate(ETAG_BYTES).putLong(versioned.version()).putInt(which(versioned.getClass(), versioned.id()))
                .put(sha256(body), 0, ETAG_BYTES - VERSION_BYTES - WHICH_BYTES).array());
    }

    /** 32 bits naming a document of {@code kind} at {@code id}, the same in every instance and release (not secret). */
    private static int which(Class<?> kind, long id) {
        long mixed = (id ^ kind.getSimpleName().hashCode()) * 0x9E3779B97F4A7C15L; // Fibonacci hashing, then its high bits
        return (int) (mixed ^ mixed >>> 32);
    }

    /**
     * Whether {@code model}, rendered as it is now, has the ETag {@code requiredTag}: an If-Match on a document
     * that has no version (a message, a memory) is compared with the tag of what is stored.
     */
    public static boolean matches(Object model, String requiredTag) {
        return of(model).etag().equals(requiredTag);
    }

    /** The strong form of an ETag: a gzipped body's weak tag ({@code W/"…"}) names the same content, and version. */
    public static String strong(String etag) {
        return etag.startsWith("W/") ? etag.substring(2) : etag;
    }

    /**
     * The version an ETag (weak or strong) of the {@code kind} document at {@code id} carries; empty for a tag Parley
     * could not have made for it: another document's, or one made up.
     */
    public static OptionalLong versionOf(String etag, Class<? extends Versioned> kind, long id) {
        String tag = strong(etag.strip());
        if (tag.length() != 24 || tag.charAt(0) != '"' || tag.charAt(23) != '"') {
            return OptionalLong.empty();
        }
        try {
            ByteBuffer bytes = ByteBuffer.wrap(Base64.getUrlDecoder().decode(tag.substring(1, 23)));
            long version = bytes.getLong();
            return bytes.getInt() == which(kind, id) ? OptionalLong.of(version) : OptionalLong.empty();
        } catch (IllegalArgumentException e) {
            return OptionalLong.empty();
        }
    }

    private static byte[] sha256(byte[] body) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(body);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static String quoted(byte[] tag) {
        return "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(tag) + "\"";
    }

    /**
     * What it costs to keep: the JSON, about as much again for the object it was made from while it holds it, and a
     * third of it for the gzipped JSON it may come to hold.
     */
    long weight() {
        return (model == null ? 1L : 2L) * body.length + body.length / 3 + OVERHEAD_BYTES;
    }
}
