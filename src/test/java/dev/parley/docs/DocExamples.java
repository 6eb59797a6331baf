package dev.parley.docs;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shell examples of a Markdown document, as {@code DocsExamplesTest} runs them.
 *
 * <p>A fenced block is a shell example when its info string is {@code sh}, {@code bash}, {@code shell}
 * or {@code console}, or when it has none and its first line (after any {@code #} notes) starts with
 * the prompt {@code $ }. In a block with prompts (a transcript), each {@code $ } line starts a command,
 * which goes on over further lines while a quote is open or a line ends in {@code \}; the lines after
 * it, up to the next prompt, are the answer it shows. Lines that start with {@code # } outside a command
 * are notes for the reader. A block without prompts is a script: each command in it runs, and shows no
 * answer. A block whose last line before the fence is {@code <!-- not run: why -->} is not run (it must
 * not call the API). A line such as {@code KEY=pk_...} is a placeholder the reader fills in
 * ({@link DocExample#isPlaceholder()}).
 */
final class DocExamples {
    private static final Pattern FENCE = Pattern.compile("^(\\s*)```\\s*(\\S*)\\s*$");
    private static final Pattern NOT_RUN = Pattern.compile("^\\s*<!--\\s*not run:\\s*(.+?)\\s*-->\\s*$");
    private static final List<String> SHELL = List.of("sh", "bash", "shell", "console");
    private static final String PROMPT = "$ ";

    /**
     * A fenced block: the line of its first content line, its info string ({@code sh}, {@code python}; empty for
     * none), its lines without the fence's indent.
     */
    record Block(String document, int line, String language, List<String> lines, boolean isShell, String notRunBecause) {
        boolean runs() {
            return isShell && notRunBecause == null;
        }

        boolean callsParley() {
            return lines.stream().anyMatch(l -> l.contains("curl "));
        }

        boolean isTranscript() {
            return lines.stream().anyMatch(l -> l.startsWith(PROMPT));
        }
    }

    private DocExamples() {
    }

    /** Every fenced block of the document, in order, shell or not, run or not. */
    static List<Block> fencedBlocks(String document, List<String> markdown) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < markdown.size(); i++) {
            Matcher open = FENCE.matcher(markdown.get(i));
            if (!open.matches()) {
                continue;
            }
            int close = closingFence(markdown, i + 1);
            List<String> lines = markdown.subList(i + 1, close).stream().map(l -> unindent(l, open.group(1).length())).toList();
            blocks.add(new Block(document, i + 2, open.group(2), lines, isShell(open.group(2), lines), notRunBecause(markdown, i)));
            i = close;
        }
        return blocks;
    }

    /** The commands of a block, each with the answer shown after it. */
    static List<DocExample> commands(Block block) {
        List<DocExample> commands = new ArrayList<>();
        List<String> lines = block.lines();
        boolean transcript = block.isTranscript();
        for (int start = nextCommand(block, 0, transcript); start < lines.size(); ) {
            int end = endOfCommand(lines, start, transcript);
            int answerEnd = transcript ? nextPrompt(lines, end) : end;
            String command = String.join("\n", lines.subList(start, end)).substring(transcript ? PROMPT.length() : 0);
            commands.add(new DocExample(block.document(), block.line() + start, command,
                    withoutNotes(lines.subList(end, answerEnd)), ShellSyntax.expandedVariables(command)));
            start = nextCommand(block, answerEnd, transcript);
        }
        return commands;
    }

    /** The first line at or after {@code from} that starts a command: blank lines and notes do not. */
    private static int nextCommand(Block block, int from, boolean transcript) {
        int i = from;
        while (i < block.lines().size() && (block.lines().get(i).isBlank() || block.lines().get(i).startsWith("#"))) {
            i++;
        }
        if (transcript && i < block.lines().size() && !block.lines().get(i).startsWith(PROMPT)) {
            throw new IllegalStateException(block.document() + ":" + (block.line() + i)
                    + ": an answer with no command before it (a transcript's commands start with '$ '): " + block.lines().get(i));
        }
        return i;
    }

    /** The line after the command that starts at {@code start}: it goes on while a quote is open or a line ends in a backslash. */
    private static int endOfCommand(List<String> lines, int start, boolean transcript) {
        String command = transcript ? lines.get(start).substring(PROMPT.length()) : lines.get(start);
        int end = start + 1;
        while (!ShellSyntax.isComplete(command) && end < lines.size()) {
            command += "\n" + lines.get(end++);
        }
        return end;
    }

    private static int nextPrompt(List<String> lines, int from) {
        int i = from;
        while (i < lines.size() && !lines.get(i).startsWith(PROMPT)) {
            i++;
        }
        return i;
    }

    private static boolean isShell(String info, List<String> lines) {
        return SHELL.contains(info) || (info.isEmpty() && lines.stream().filter(l -> !l.startsWith("#")).findFirst()
                .map(l -> l.startsWith(PROMPT)).orElse(false));
    }

    private static int closingFence(List<String> markdown, int from) {
        for (int i = from; i < markdown.size(); i++) {
            if (markdown.get(i).strip().equals("```")) {
                return i;
            }
        }
        throw new IllegalStateException("the fence opened at line " + from + " is never closed");
    }

    private static String unindent(String line, int indent) {
        int strip = 0;
        while (strip < indent && strip < line.length() && line.charAt(strip) == ' ') {
            strip++;
        }
        return line.substring(strip);
    }

    private static String notRunBecause(List<String> markdown, int fence) {
        int before = fence - 1;
        while (before >= 0 && markdown.get(before).isBlank()) {
            before--;
        }
        Matcher marker = before >= 0 ? NOT_RUN.matcher(markdown.get(before)) : null;
        return marker != null && marker.matches() ? marker.group(1) : null;
    }

    /** The shown answer without the reader's notes and the blank lines around it. */
    private static List<String> withoutNotes(List<String> shown) {
        List<String> answer = new ArrayList<>(shown.stream().filter(l -> !l.startsWith("# ")).toList());
        while (!answer.isEmpty() && answer.get(answer.size() - 1).isBlank()) {
            answer.remove(answer.size() - 1);
        }
        while (!answer.isEmpty() && answer.get(0).isBlank()) {
            answer.remove(0);
        }
        return answer;
    }
}
