package dev.parley.search;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;

/**
 * The lexemes a tsquery asks for, given as PostgreSQL writes it ({@code 'star' & !'cat' & ( 'dog' <-> 'park' )}),
 * less the negated ones: the words a snippet marks. A lexeme is quoted, with {@code ''} or a backslash
 * for a quote inside; what follows it ({@code :*}, weights) and the operators between are skipped.
 *
 * <p>Made once a search, with the first letters of its lexemes, which every word of every returned text is
 * checked against before it is stemmed ({@link Snippets.Dictionary#mayGiveOneOf}): a query has a few lexemes, so
 * an array of their first letters is read faster than a set is walked.
 */
final class QueryLexemes {
    private final Set<String> lexemes;
    private final int[] firstLetters;

    private QueryLexemes(Collection<String> lexemes) {
        this.lexemes = Set.copyOf(lexemes);
        this.firstLetters = this.lexemes.stream().filter(lexeme -> !lexeme.isEmpty())
                .mapToInt(lexeme -> lexeme.codePointAt(0)).distinct().toArray();
    }

    /** These lexemes, as asked. */
    static QueryLexemes of(Collection<String> lexemes) {
        return new QueryLexemes(lexemes);
    }

    /** The lexemes of {@code query}, a tsquery as PostgreSQL writes it. */
    static QueryLexemes parse(String query) {
        Set<String> lexemes = new HashSet<>();
        Deque<Boolean> negatedGroups = new ArrayDeque<>(); // each open group: whether a NOT applies inside it
        boolean not = false; // a NOT waiting for its operand
        for (int i = 0; i < query.length(); i++) {
            switch (query.charAt(i)) {
                case '!' -> not = !not;
                case '(' -> {
                    negatedGroups.push(not || negated(negatedGroups));
                    not = false;
                }
                case ')' -> negatedGroups.poll();
                case '\'' -> {
                    StringBuilder lexeme = new StringBuilder();
                    i = quoted(query, i + 1, lexeme);
                    if (!not && !negated(negatedGroups)) {
                        lexemes.add(lexeme.toString());
                    }
                    not = false;
                }
                default -> {
                }
            }
        }
        return new QueryLexemes(lexemes);
    }

    Set<String> lexemes() {
        return lexemes;
    }

    boolean contains(String lexeme) {
        return lexemes.contains(lexeme);
    }

    /** Whether a lexeme asked for begins with {@code codePoint}. */
    boolean anyBeginsWith(int codePoint) {
        for (int letter : firstLetters) {
            if (letter == codePoint) {
                return true;
            }
        }
        return false;
    }

    /** Reads a quoted lexeme from {@code start} (just past its opening quote) into {@code lexeme}; returns where its closing quote is. */
    private static int quoted(String query, int start, StringBuilder lexeme) {
        int i = start;
        for (; i < query.length(); i++) {
            char c = query.charAt(i);
            if (c == '\\' && i + 1 < query.length()) {
                lexeme.append(query.charAt(++i));
            } else if (c == '\'' && i + 1 < query.length() && query.charAt(i + 1) == '\'') {
                lexeme.append('\'');
                i++;
            } else if (c == '\'') {
                break;
            } else {
                lexeme.append(c);
            }
        }
        return i;
    }

    private static boolean negated(Deque<Boolean> groups) {
        return Boolean.TRUE.equals(groups.peek());
    }
}
