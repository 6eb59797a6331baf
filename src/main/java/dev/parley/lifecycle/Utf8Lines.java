package dev.parley.lifecycle;

import dev.parley.input.Utf8;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * NDJSON lines from a stream of bytes, each read as strictly as a request body ({@link Utf8}): a line that is
 * not well-formed UTF-8 is refused as a whole ({@link Import.UnreadableLine}) and the next one read, where a
 * decoding reader would have stored U+FFFD for the bytes it could not read. A line longer than a request body may
 * be is refused too, read through without being kept: the stream as a whole is bounded by nothing but time, and
 * one line without an end would otherwise be held in memory whole. Lines end at LF; a CR before it goes, and so
 * does a byte order mark before the first.
 */
public final class Utf8Lines implements Import.Lines {
    private static final String BYTE_ORDER_MARK = "\uFEFF";
    private final InputStream in;
    private final long maxLineBytes;
    private final byte[] buffer = new byte[1 << 16];
    private int position;
    private int end;
    private byte[] line = new byte[8192];
    private boolean first = true;

    /** Lines of {@code in}, each of at most {@code maxLineBytes} (PARLEY_MAX_BODY: a line is what a request would be). */
    public Utf8Lines(InputStream in, long maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    @Override
    public String next() throws IOException {
        int length = 0;
        long skipped = 0; // bytes of a line too long to keep, once it is
        while (true) {
            if (position == end && !fill()) {
                if (length == 0 && skipped == 0) {
                    return null;
                }
                break;
            }
            int newline = position;
            while (newline < end && buffer[newline] != '\n') {
                newline++;
            }
            int count = newline - position;
            if (skipped > 0 || length + count > maxLineBytes) {
                skipped += length + count;
                length = 0;
            } else {
                length = append(length, count);
            }
            boolean found = newline < end;
            position = found ? newline + 1 : newline;
            if (found) {
                break;
            }
        }
        boolean atStart = first;
        first = false;
        if (skipped > 0) {
            throw new Import.UnreadableLine("line is " + skipped + " bytes long; a line may have at most " + maxLineBytes
                    + " (PARLEY_MAX_BODY, as a request body)");
        }
        if (length > 0 && line[length - 1] == '\r') {
            length--;
        }
        String text = decoded(length);
        // What Windows' tools put first; JSON has none, so it is no line's.
        return atStart && text.startsWith(BYTE_ORDER_MARK) ? text.substring(1) : text;
    }

    private boolean fill() throws IOException {
        int read = in.read(buffer);
        position = 0;
        end = Math.max(read, 0);
        return read > 0;
    }

    private int append(int length, int count) {
        if (length + count > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, length + count));
        }
        System.arraycopy(buffer, position, line, length, count);
        return length + count;
    }

    private String decoded(int length) throws Import.UnreadableLine {
        byte[] bytes = Arrays.copyOf(line, length);
        int invalid = Utf8.firstInvalid(bytes);
        if (invalid >= 0) {
            throw new Import.UnreadableLine("line is not UTF-8: the byte at offset " + invalid
                    + " (0x%02X) starts no well-formed UTF-8 character".formatted(bytes[invalid] & 0xFF));
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
