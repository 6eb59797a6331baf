package dev.parley.docs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Just enough of bash's quoting to split a shell example into commands and to name the variables a
 * command expands: a command goes on while a quote is open or a line ends in a backslash; {@code $NAME}
 * inside single quotes is text, not a variable (the mistake readers copy without noticing).
 */
final class ShellSyntax {
    private ShellSyntax() {
    }

    private enum Quote { NONE, SINGLE, DOUBLE }

    private record Scan(Quote open, boolean continued, Set<String> variables) {
    }

    /** Whether {@code text} is a whole command, or needs the next line too. */
    static boolean isComplete(String text) {
        Scan scan = scan(text);
        return scan.open() == Quote.NONE && !scan.continued();
    }

    /** The variables the command expands, in order, each once ({@code $KEY}, {@code ${CONV}}). */
    static List<String> expandedVariables(String text) {
        return new ArrayList<>(scan(text).variables());
    }

    private static Scan scan(String text) {
        Quote quote = Quote.NONE;
        Set<String> variables = new LinkedHashSet<>();
        boolean continued = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            continued = false;
            if (quote == Quote.SINGLE) {
                quote = c == '\'' ? Quote.NONE : quote;
            } else if (c == '\\') {
                continued = i + 1 == text.length() || text.charAt(i + 1) == '\n';
                i++;
            } else if (c == '$') {
                i = variable(text, i + 1, variables) - 1;
            } else if (quote == Quote.DOUBLE) {
                quote = c == '"' ? Quote.NONE : quote;
            } else if (c == '\'') {
                quote = Quote.SINGLE;
            } else if (c == '"') {
                quote = Quote.DOUBLE;
            } else if (c == '#' && (i == 0 || Character.isWhitespace(text.charAt(i - 1)))) {
                i = endOfLine(text, i) - 1; // a comment: its quotes and dollars are prose
            }
        }
        return new Scan(quote, continued, variables);
    }

    /** Adds the name that starts at {@code from} (after a {@code $}, with or without braces); returns where it ends. */
    private static int variable(String text, int from, Set<String> variables) {
        int start = from < text.length() && text.charAt(from) == '{' ? from + 1 : from;
        int end = start;
        while (end < text.length() && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '_')) {
            end++;
        }
        if (end > start && !Character.isDigit(text.charAt(start))) {
            variables.add(text.substring(start, end));
        }
        return Math.max(end, from);
    }

    private static int endOfLine(String text, int from) {
        int newline = text.indexOf('\n', from);
        return newline < 0 ? text.length() : newline;
    }
}
