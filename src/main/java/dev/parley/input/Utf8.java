package dev.parley.input;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Well-formed UTF-8, as the Unicode standard defines it (table 3-7): no overlong forms ({@code C0 AF} for "/"),
 * no surrogates ({@code ED A0 80}), nothing above U+10FFFF. Jackson decodes overlong forms as the character they
 * spell, and Jetty turns bad bytes in a query string into U+FFFD: either way a client's mistake would be stored
 * or searched for as something it did not send.
 */
public final class Utf8 {
    private Utf8() {
    }

    /** The index of the first byte of {@code bytes} that starts no well-formed character, or -1 when all do. */
    public static int firstInvalid(byte[] bytes) {
        int i = 0;
        while (i < bytes.length) {
            int b = bytes[i] & 0xFF;
            if (b < 0x80) {
                i++;
                continue;
            }
            int length;
            int low = 0x80; // the range of the second byte, narrower after E0, ED, F0 and F4
            int high = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                length = 2;
            } else if (b >= 0xE0 && b <= 0xEF) {
                length = 3;
                low = b == 0xE0 ? 0xA0 : 0x80;
                high = b == 0xED ? 0x9F : 0xBF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                length = 4;
                low = b == 0xF0 ? 0x90 : 0x80;
                high = b == 0xF4 ? 0x8F : 0xBF;
            } else {
                return i;
            }
            if (i + length > bytes.length) {
                return i;
            }
            int second = bytes[i + 1] & 0xFF;
            if (second < low || second > high) {
                return i;
            }
            for (int k = 2; k < length; k++) {
                int next = bytes[i + k] & 0xFF;
                if (next < 0x80 || next > 0xBF) {
                    return i;
                }
            }
            i += length;
        }
        return -1;
    }

    /**
     * The bytes a query string's part stands for: each {@code %XX} the byte it names, {@code +} a space, any other
     * character its UTF-8 (a character Jetty already replaced, U+FFFD, is refused by the caller as it stands).
     */
    public static byte[] percentDecoded(String part) {
        var bytes = new ByteArrayOutputStream(part.length());
        for (int i = 0; i < part.length(); ) {
            int c = part.codePointAt(i);
            if (c == '%' && i + 2 < part.length() && hex(part.charAt(i + 1)) >= 0 && hex(part.charAt(i + 2)) >= 0) {
                bytes.write(hex(part.charAt(i + 1)) << 4 | hex(part.charAt(i + 2)));
                i += 3;
                continue;
            }
            if (c == '+') {
                bytes.write(' ');
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                bytes.writeBytes(Character.toString(c).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(c);
        }
        return bytes.toByteArray();
    }

    private static int hex(char c) {
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }
}
