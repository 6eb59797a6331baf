package dev.parley.docs;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One command of a document's shell example, where it stands and the answer the document shows after
 * it (no lines when it shows none).
 */
record DocExample(String document, int line, String command, List<String> shown, List<String> variables) {
    /** {@code KEY=pk_...}: a value with {@code ...} is the reader's to fill in; the test fills it and skips the line. */
    private static final Pattern PLACEHOLDER = Pattern.compile("^([A-Za-z_][A-Za-z0-9_]*)=\\S*\\.\\.\\.\\S*(\\s+#.*)?$");

    /** Where a reader finds it: {@code docs/api.md:412}. */
    String place() {
        return document + ":" + line;
    }

    boolean isPlaceholder() {
        return PLACEHOLDER.matcher(command).matches();
    }

    /** The variable a placeholder line leaves to the reader ({@code KEY}). */
    String placeholderVariable() {
        Matcher placeholder = PLACEHOLDER.matcher(command);
        return placeholder.matches() ? placeholder.group(1) : null;
    }

    boolean callsParley() {
        return command.contains("curl ");
    }
}
