package dev.parley.search;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A text's words as PostgreSQL's default text-search parser reads the common cases: runs of letters,
 * digits and combining marks, split at anything else (spaces, punctuation, apostrophes: "don't" is
 * "don" and "t"); runs joined by single hyphens are one word of several parts ("well-known"), which
 * a snippet counts as one word and marks part by part, as ts_headline does. Each part is typed as the
 * parser types it, so that the configuration's dictionary for that type can be applied (asciiword,
 * word, numword, uint; hword_asciipart, hword_part, hword_numpart in a hyphenated word). An HTML tag
 * is no word ({@code <b>}, {@code <a href="stars.html">}: a mark there would break the tag), nor is
 * what a script or style element holds, as for the parser. What the parser reads as one token of
 * another kind (an e-mail address, a URL, a decimal number) is read here as its words: at worst a
 * match inside one goes unmarked.
 */
final class Words {
    /** The token types a part can have; a configuration maps each, by its {@link #alias}, to dictionaries. */
    enum Type {
        ASCIIWORD, WORD, NUMWORD, UINT, HWORD_ASCIIPART, HWORD_PART, HWORD_NUMPART;

        /** The default parser's name for it ({@code ts_token_type}). */
        String alias() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private Words() {
    }

    /** Characters [start, end) of a text. */
    record Span(int start, int end) {
    }

    /** One run of a word, typed: the whole word when it has no hyphen. */
    record Part(int start, int end, Type type) {
    }

    /** A word with its parts: itself, or its runs between hyphens. */
    record Word(int start, int end, List<Part> parts) {
    }

    /** The words of {@code text}, in order. */
    static List<Word> of(String text) {
        return new Reader(text).all();
    }

    /**
     * The words of a text, read only as far as they are asked for: a long message's snippet needs the words up
     * to its first matches, not the thousands after them.
     */
    static final class Reader {
        private final String text;
        private final List<Word> read = new ArrayList<>();
        private int at; // where reading goes on

        Reader(String text) {
            this.text = text;
        }

        /** Whether the text has a word at {@code index}, reading up to it. */
        boolean has(int index) {
            while (read.size() <= index && at < text.length()) {
                readNext();
            }
            return index < read.size();
        }

        Word get(int index) {
            if (!has(index)) {
                throw new IndexOutOfBoundsException(index);
            }
            return read.get(index);
        }

        /** How many words there are among the first {@code n}. */
        int countUpTo(int n) {
            has(n - 1);
            return Math.min(n, read.size());
        }

        /** Every word of the text. */
        List<Word> all() {
            while (at < text.length()) {
                readNext();
            }
            return read;
        }

        /** How many words have been read so far. */
        int wordsRead() {
            return read.size();
        }

        /** Reads the next word, past any tags and other characters before it; none at the end of the text. */
        private void readNext() {
            while (at < text.length()) {
                int tagEnd = tagEnd(text, at);
                if (tagEnd > at) {
                    at = tagEnd;
                    continue;
                }
                if (!wordCharAt(text, at)) {
                    at += Character.charCount(text.codePointAt(at));
                    continue;
                }
                int start = at;
                at = runEnd(text, at);
                if (!hyphenAt(at)) { // most words: one run
                    read.add(single(text, start, at));
                    return;
                }
                List<Span> runs = new ArrayList<>();
                runs.add(new Span(start, at));
                while (hyphenAt(at)) {
                    start = at + 1; // past the hyphen
                    at = runEnd(text, start);
                    runs.add(new Span(start, at));
                }
                read.add(hyphenated(text, runs));
                return;
            }
        }

        /** Whether a hyphen at {@code i} joins the run before it to a next one. */
        private boolean hyphenAt(int i) {
            return i + 1 < text.length() && text.charAt(i) == '-' && wordCharAt(text, i + 1);
        }
    }

    private static final Pattern TAG = Pattern.compile("</?([A-Za-z][A-Za-z0-9]*)[^<>]*>");

    /** Where the HTML tag at {@code i} ends (past a script or style element's content), or {@code i} when none starts there. */
    private static int tagEnd(String text, int i) {
        if (text.charAt(i) != '<') {
            return i;
        }
        Matcher tag = TAG.matcher(text).region(i, text.length());
        if (!tag.lookingAt()) {
            return i;
        }
        String name = tag.group(1).toLowerCase(Locale.ROOT);
        if (text.charAt(i + 1) != '/' && (name.equals("script") || name.equals("style"))) {
            int close = closingTag(text, name, tag.end());
            return close < 0 ? text.length() : tagEnd(text, close);
        }
        return tag.end();
    }

    /** Where {@code </name} (in any case) next starts from {@code from}, or -1. */
    private static int closingTag(String text, String name, int from) {
        for (int at = text.indexOf("</", from); at >= 0; at = text.indexOf("</", at + 2)) {
            if (text.regionMatches(true, at + 2, name, 0, name.length())) {
                return at;
            }
        }
        return -1;
    }

    /** Where the run of word characters starting at {@code i} ends. */
    private static int runEnd(String text, int i) {
        while (i < text.length() && wordCharAt(text, i)) {
            i += Character.charCount(text.codePointAt(i));
        }
        return i;
    }

    /** A word of one run, its one part. */
    private static Word single(String text, int start, int end) {
        Type type = switch (kind(text, start, end)) {
            case DIGITS -> Type.UINT;
            case LETTERS_AND_DIGITS -> Type.NUMWORD;
            case ASCII_LETTERS -> Type.ASCIIWORD;
            case LETTERS -> Type.WORD;
        };
        return new Word(start, end, List.of(new Part(start, end, type)));
    }

    /** A word of several runs joined by hyphens, a part each. */
    private static Word hyphenated(String text, List<Span> runs) {
        List<Part> parts = new ArrayList<>(runs.size());
        for (Span run : runs) {
            parts.add(new Part(run.start(), run.end(), switch (kind(text, run.start(), run.end())) {
                case DIGITS, LETTERS_AND_DIGITS -> Type.HWORD_NUMPART;
                case ASCII_LETTERS -> Type.HWORD_ASCIIPART;
                case LETTERS -> Type.HWORD_PART;
            }));
        }
        return new Word(runs.getFirst().start(), runs.getLast().end(), List.copyOf(parts));
    }

    private enum Kind { DIGITS, LETTERS_AND_DIGITS, ASCII_LETTERS, LETTERS }

    private static Kind kind(String text, int start, int end) {
        boolean digits = false;
        boolean letters = false;
        boolean ascii = true;
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            if (Character.isDigit(c)) {
                digits = true;
            } else {
                letters = true;
                ascii &= c < 128;
            }
        }
        return !letters ? Kind.DIGITS : digits ? Kind.LETTERS_AND_DIGITS : ascii ? Kind.ASCII_LETTERS : Kind.LETTERS;
    }

    private static boolean wordCharAt(String text, int i) {
        char ascii = text.charAt(i);
        if (ascii < 128) {
            return ascii >= 'a' && ascii <= 'z' || ascii >= 'A' && ascii <= 'Z' || ascii >= '0' && ascii <= '9';
        }
        int c = text.codePointAt(i);
        return switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK, Character.ENCLOSING_MARK -> true;
            default -> Character.isLetterOrDigit(c);
        };
    }
}
