package dev.parley.chat;

import dev.parley.input.Graphemes;

/**
 * What a conversation shows of its last message: its first {@link Limits#PREVIEW_CHARS} characters (code points), cut
 * between graphemes, so a preview never ends in half an emoji sequence, half a flag or a letter without its accent.
 * The conversation row keeps one code point more than is shown, as every writer can take it (SQL's {@code left()}
 * counts code points too): where the shown preview ends is then known from the stored one alone.
 */
public final class Preview {
    private static final int STORED = Limits.PREVIEW_CHARS + 1;

    private Preview() {
    }

    /** What a conversation row keeps of {@code content}. */
    public static String stored(String content) {
        return content.codePointCount(0, content.length()) <= STORED ? content
                : content.substring(0, content.offsetByCodePoints(0, STORED));
    }

    /** The SQL of {@link #stored} for a content column. */
    static String storedSql(String content) {
        return "left(" + content + ", " + STORED + ")";
    }

    /**
     * What is shown of a stored preview: all of it when it is no longer than {@link Limits#PREVIEW_CHARS}, else up to the
     * last grapheme that ends within them (a grapheme longer than all of them is cut where they end). A preview that
     * rows of older builds kept at that length is shown as it is.
     */
    public static String shown(String stored) {
        if (stored.codePointCount(0, stored.length()) <= Limits.PREVIEW_CHARS) {
            return stored;
        }
        int limit = stored.offsetByCodePoints(0, Limits.PREVIEW_CHARS);
        int cut = Graphemes.start(stored, 0, limit);
        return stored.substring(0, cut == 0 ? limit : cut);
    }
}
