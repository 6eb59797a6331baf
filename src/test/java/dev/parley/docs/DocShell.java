package dev.parley.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a document's commands in order in one bash, as a reader pastes them into one terminal: a
 * variable one command sets is there for the next. The commands run as written; {@code curl} is a
 * function that sends {@code localhost:8080} to the test's Parley ({@code --connect-to}) and adds
 * {@code -v}, whose status lines (on stderr, apart from what the command prints) tell each answer's status;
 * an example must not fold curl's stderr into what it prints ({@code 2>&1}).
 */
final class DocShell {
    /** The documented host and port: what the examples say, whatever port the test's Parley has. */
    private static final String DOCUMENTED_HOST = "localhost:8080";
    private static final Pattern VERBOSE_STATUS = Pattern.compile("^< HTTP/\\S+ (\\d{3})\\b.*");
    private static final Pattern VERBOSE = Pattern.compile("^([*<>{}]|\\s*\\[\\d+ bytes data]).*");

    /** What one command did: its exit status, what it printed, the HTTP statuses it received, the unset variables it used. */
    record Outcome(int exit, String stdout, String stderr, List<Integer> statuses, List<String> unset) {
        Integer lastStatus() {
            return statuses.isEmpty() ? null : statuses.get(statuses.size() - 1);
        }
    }

    private DocShell() {
    }

    /**
     * Runs the commands in {@code dir}, with only {@code variables} (and PATH) in the environment, and
     * answers their outcomes in the same order; a placeholder line ({@code KEY=pk_...}) does nothing.
     */
    static List<Outcome> run(List<DocExample> examples, int port, Map<String, String> variables, Path dir)
            throws IOException, InterruptedException {
        Path script = dir.resolve("examples.sh");
        Files.writeString(script, script(examples, port, dir));
        runToTheEnd(script, variables, dir);
        List<Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            outcomes.add(outcome(dir, i));
        }
        return outcomes;
    }

    private static void runToTheEnd(Path script, Map<String, String> variables, Path dir) throws IOException, InterruptedException {
        var bash = new ProcessBuilder("bash", script.toString()).directory(dir.toFile())
                .redirectOutput(dir.resolve("bash.out").toFile()).redirectErrorStream(true);
        bash.environment().clear();
        bash.environment().putAll(Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"),
                "HOME", dir.toString(), "LANG", "C.UTF-8"));
        bash.environment().putAll(variables);
        Process process = bash.start();
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("the examples did not finish in two minutes; see " + script);
        }
    }

    private static String script(List<DocExample> examples, int port, Path dir) {
        StringBuilder script = new StringBuilder("curl() { command curl -v --max-time 30 --connect-to "
                + DOCUMENTED_HOST + ":127.0.0.1:" + port + " \"$@\"; }\n");
        for (int i = 0; i < examples.size(); i++) {
            appendCommand(script, examples.get(i), dir.resolve(String.valueOf(i)).toString());
        }
        return script.toString();
    }

    /** The command in the current shell (so its variables stay), its output, status and unset variables in files named {@code files.*}. */
    private static void appendCommand(StringBuilder script, DocExample example, String files) {
        script.append("\n# ").append(example.place()).append('\n');
        for (String variable : example.variables()) {
            script.append("[ -n \"${").append(variable).append("+set}\" ] || echo ").append(variable)
                    .append(" >>'").append(files).append(".unset'\n");
        }
        script.append("{\n").append(example.isPlaceholder() ? ":" : example.command()).append("\n} >'")
                .append(files).append(".out' 2>'").append(files).append(".err'\n")
                .append("echo $? >'").append(files).append(".exit'\n");
    }

    private static Outcome outcome(Path dir, int i) throws IOException {
        Path exit = dir.resolve(i + ".exit");
        if (!Files.exists(exit)) {
            return new Outcome(-1, "", "bash stopped before this command: " + text(dir.resolve("bash.out")), List.of(), List.of());
        }
        Path unset = dir.resolve(i + ".unset");
        List<String> stderr = text(dir.resolve(i + ".err")).lines().toList();
        return new Outcome(Integer.parseInt(text(exit).strip()), text(dir.resolve(i + ".out")),
                String.join("\n", stderr.stream().filter(l -> !VERBOSE.matcher(l).matches()).toList()),
                statuses(stderr), Files.exists(unset) ? Files.readAllLines(unset) : List.of());
    }

    /** A file as UTF-8 text, whatever it holds (a gzipped body reads as replacement characters, not an exception). */
    private static String text(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    private static List<Integer> statuses(List<String> verbose) {
        List<Integer> statuses = new ArrayList<>();
        for (String line : verbose) {
            Matcher status = VERBOSE_STATUS.matcher(line);
            if (status.matches() && !status.group(1).startsWith("1")) {
                statuses.add(Integer.valueOf(status.group(1)));
            }
        }
        return statuses;
    }
}
