package dev.parley.memory;

import dev.parley.chat.InvalidInput;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * An embedding vector as the app's model produced it, checked and scaled to unit length, so that
 * cosine similarity is a plain dot product. Stored as float32 little-endian bytes, and accepted so in
 * base64 too: reading 768 decimal numbers costs more CPU than the recall they are sent for.
 */
public final class Embedding {
    public static final int MAX_DIMS = 4096;

    private Embedding() {
    }

    /**
     * {@code values} scaled to unit length in place, and returned (every caller passes an array it has just
     * made, so a copy was garbage on every recall); names {@code field} when it is empty, too long, not finite
     * (a number beyond float range reads as infinite) or all zero.
     */
    public static float[] unit(String field, float[] values) {
        if (values == null || values.length == 0) {
            throw new InvalidInput(field, "must be a non-empty array of numbers (or base64 of their float32 bytes)");
        }
        if (values.length > MAX_DIMS) {
            throw new InvalidInput(field, "has " + values.length + " dimensions; the limit is " + MAX_DIMS);
        }
        double sumOfSquares = 0;
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new InvalidInput(field + "[" + i + "]", "must be a finite number within float range");
            }
            sumOfSquares += (double) values[i] * values[i];
        }
        if (sumOfSquares == 0 || !Double.isFinite(sumOfSquares)) {
            throw new InvalidInput(field, "has no direction (all zeros or too large); similarity needs a non-zero vector");
        }
        double scale = 1 / Math.sqrt(sumOfSquares);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (values[i] * scale);
        }
        return values;
    }

    /**
     * The float32 values that {@code base64} (RFC 4648, padding optional) holds, little-endian; names
     * {@code field} when it is not base64 or not a whole number of 4-byte values.
     */
    public static float[] fromBase64(String field, String base64) {
        return fromBase64(field, base64.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** As {@link #fromBase64(String, String)}, from the text's characters as ISO-8859-1 bytes. */
    public static float[] fromBase64(String field, byte[] base64) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            String stray = strayCharacter(base64);
            throw new InvalidInput(field, "is not valid base64 (" + (stray != null ? stray : badEnd(base64)) + "); send the "
                    + "float32 values' little-endian bytes in base64 (RFC 4648, the + and / alphabet, no line breaks), or an "
                    + "array of numbers");
        }
        if (bytes.length % Float.BYTES != 0) {
            throw new InvalidInput(field, "decodes to " + bytes.length + " bytes, not a whole number of 4-byte float32 values");
        }
        float[] values = new float[bytes.length / Float.BYTES];
        decode(bytes, values, 0);
        return values;
    }

    /**
     * The first character base64's alphabet has not, described for a person (the decoder names it by its code in hex,
     * which reads as a letter: "a" for a line break), or null when every character is in the alphabet.
     */
    private static String strayCharacter(byte[] base64) {
        for (int i = 0; i < base64.length; i++) {
            int c = base64[i] & 0xff;
            boolean inAlphabet = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
                    || c == '=';
            if (!inAlphabet) {
                String shown = switch (c) {
                    case '\n' -> "a line break";
                    case '\r' -> "a carriage return";
                    case ' ' -> "a space";
                    default -> c < 0x20 || c >= 0x7f ? "U+%04X".formatted(c) : "'" + (char) c + "'";
                };
                return shown + " at character " + i;
            }
        }
        return null;
    }

    /**
     * What is wrong with the end of a text of base64's characters that does not decode, for a person: the decoder's own
     * words ("Input byte array has incorrect ending byte at 24") name neither the padding nor the length.
     */
    private static String badEnd(byte[] base64) {
        int padding = 0;
        while (padding < base64.length && base64[base64.length - 1 - padding] == '=') {
            padding++;
        }
        for (int i = 0; i < base64.length - padding; i++) {
            if (base64[i] == '=') {
                return "'=' at character " + i + " is padding, which comes only at the end";
            }
        }
        int length = base64.length - padding; // the characters that carry bits
        if (length % 4 == 1) {
            return length + " characters before any padding leave one over, which makes no whole byte: the text is cut "
                    + "short or has a character too many";
        }
        int wanted = (4 - length % 4) % 4;
        return "it ends in " + padding + " '=' where " + (wanted == 0 ? "none belongs" : wanted + " belong")
                + " (or none: padding is optional)";
    }

    static byte[] encode(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(vector);
        return bytes.array();
    }

    /** Decodes {@code bytes} into {@code into} starting at {@code offset}. */
    static void decode(byte[] bytes, float[] into, int offset) {
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into, offset, bytes.length / Float.BYTES);
    }
}
