package dev.parley.http;

import dev.parley.chat.InvalidInput;
import io.javalin.http.Context;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

/**
 * Opaque pagination cursors: a kind letter and one to four positions, base64url-encoded. A cursor
 * only moves the caller within its own app's data (every query is scoped by app), so it needs no
 * signature, only strict parsing: a cursor from another endpoint is refused.
 */
final class Cursor {
    enum Kind {
        MESSAGE('m'), REPLY('r'), INBOX('i'), CHARACTER('c'), CHARACTER_MESSAGE('a'), CONVERSATION('v'), MEMORY('y'),
        MEMORY_BY_IMPORTANCE('p'), MEMORY_RECENT('t'), SEARCH('s'), MEMORY_SEARCH('w'),
        LEADERBOARD('l');

        final char tag;

        Kind(char tag) {
            this.tag = tag;
        }
    }

    private Cursor() {
    }

    /** The positions in the request's {@code cursor} parameter, or null on a first page (no cursor). */
    static long[] positions(Context ctx, Kind kind, int count) {
        String raw = ctx.queryParam("cursor");
        return raw == null ? null : decode(kind, count, "cursor", raw);
    }

    /** The one position in the request's {@code cursor} parameter, or {@code first} on a first page. */
    static long position(Context ctx, Kind kind, long first) {
        long[] positions = positions(ctx, kind, 1);
        return positions == null ? first : positions[0];
    }

    /** What a list asks its store for: one row past the page, which says whether another page follows. */
    static int probe(int limit) {
        return limit + 1;
    }

    /** A page of a list and the cursor of the next one, null on the last page. */
    record Paged<T>(List<T> page, String next) {
    }

    /**
     * The first {@code limit} of {@code rows}, read with {@link #probe}, and the cursor after them: null when no row
     * lay past them, so a client that pages until the cursor is null does not ask once more for an empty page.
     */
    static <T> Paged<T> paged(Kind kind, List<T> rows, int limit, Function<T, long[]> positions) {
        if (rows.size() <= limit) {
            return new Paged<>(rows, null);
        }
        List<T> page = rows.subList(0, limit);
        return new Paged<>(page, encode(kind, positions.apply(page.getLast())));
    }

    static String encode(Kind kind, long... positions) {
        ByteBuffer buffer = ByteBuffer.allocate(1 + 8 * positions.length);
        buffer.put((byte) kind.tag);
        for (long position : positions) {
            buffer.putLong(position);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(buffer.array());
    }

    /** The positions in a cursor of this kind; {@code name} is the query parameter that carried it. */
    static long[] decode(Kind kind, int positions, String name, String raw) {
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(raw);
        } catch (IllegalArgumentException e) {
            throw new InvalidInput(name, "is not a valid cursor");
        }
        if (bytes.length != 1 + 8 * positions || bytes[0] != (byte) kind.tag) {
            throw new InvalidInput(name, "is not a cursor of this list: a cursor continues only the endpoint and order that "
                    + "issued it (and one an earlier version of Parley issued cannot be checked): start again from the first page");
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
        long[] result = new long[positions];
        for (int i = 0; i < positions; i++) {
            result[i] = buffer.getLong();
        }
        return result;
    }
}
