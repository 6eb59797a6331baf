package dev.parley.input;

import java.text.BreakIterator;
import java.text.StringCharacterIterator;
import java.util.Locale;

/**
 * Where a text may be cut: between graphemes (what a reader sees as one character: a letter and its accents, an emoji
 * sequence, a flag's two regional indicators), never inside one. Search snippets and message previews cut here.
 */
public final class Graphemes {
    /** How many characters before a cut the graphemes around it are first read from; more when one is longer. */
    private static final int WINDOW = 32;

    private Graphemes() {
    }

    /**
     * {@code i}, or where the grapheme it falls inside begins, not before {@code from}. Graphemes are read from a
     * little before {@code i} (reading a long text's all would cost milliseconds), from further back when the
     * grapheme reaches past where they were read from or a regional indicator (half a flag) stands there.
     */
    public static int start(String content, int from, int i) {
        if (i <= from || i >= content.length()) {
            return Math.max(from, Math.min(i, content.length()));
        }
        BreakIterator graphemes = BreakIterator.getCharacterInstance(Locale.ROOT);
        for (int window = WINDOW; ; window *= 4) {
            int begin = Math.max(from, i - window);
            graphemes.setText(new StringCharacterIterator(content, begin, Math.min(content.length(), i + WINDOW), begin));
            int start = graphemes.isBoundary(i) ? i : graphemes.preceding(i);
            if (begin == from || start > begin && !regionalIndicator(content, begin)) {
                return start;
            }
        }
    }

    /** {@code i}, or where the grapheme it falls inside ends. */
    public static int end(String content, int i) {
        int start = start(content, 0, i);
        if (start == i) {
            return i;
        }
        BreakIterator graphemes = BreakIterator.getCharacterInstance(Locale.ROOT);
        for (int window = WINDOW; ; window *= 4) {
            int stop = Math.min(content.length(), i + window);
            graphemes.setText(new StringCharacterIterator(content, start, stop, start));
            int end = graphemes.following(start);
            if (end < stop || stop == content.length()) {
                return end;
            }
        }
    }

    private static boolean regionalIndicator(String content, int i) {
        int c = content.codePointAt(i);
        return c >= 0x1F1E6 && c <= 0x1F1FF;
    }
}
