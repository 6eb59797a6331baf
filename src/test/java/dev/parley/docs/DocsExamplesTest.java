package dev.parley.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.parley.Parley;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Docs that run: every shell example of the README and of docs/api.md, in order, against a fresh Parley
 * with its own database, one per document (a reader starts each from an empty server). Which blocks
 * run and where a command ends is {@link DocExamples}' rule; whether an answer is as shown,
 * {@link AnswerCheck}'s (status) and {@link DocJson}'s (shape). The reader's {@code $KEY} is the
 * instance's app key, and {@code localhost:8080} reaches the instance whatever its port ({@link DocShell}).
 * The Python and TypeScript examples beside the curl ones are {@link DocsClientExamplesTest}'s.
 */
class DocsExamplesTest {
    @TempDir
    Path dir;

    @Test
    void every_readme_example_answers_as_shown() throws Exception {
        assertRunsAsShown("README.md", "parley_docs_readme");
    }

    @Test
    void every_api_example_answers_as_shown() throws Exception {
        assertRunsAsShown("docs/api.md", "parley_docs_api");
    }

    private void assertRunsAsShown(String document, String database) throws Exception {
        List<DocExamples.Block> blocks = DocExamples.fencedBlocks(document, Files.readAllLines(Path.of(document)));
        assertEveryCurlExampleRuns(blocks);
        List<DocExample> examples = blocks.stream().filter(DocExamples.Block::runs)
                .flatMap(block -> DocExamples.commands(block).stream()).toList();
        assertThat(examples).as(document + " has shell examples").isNotEmpty();
        List<DocShell.Outcome> outcomes = runOnAFreshParley(examples, database);
        System.out.printf("%s: %d commands run (%d call the API); %d shell blocks not run%n", document, examples.size(),
                examples.stream().filter(DocExample::callsParley).count(), blocks.stream().filter(b -> b.isShell() && !b.runs()).count());
        assertAnsweredAsShown(document, examples, outcomes);
    }

    private List<DocShell.Outcome> runOnAFreshParley(List<DocExample> examples, String database) throws Exception {
        if (examples.stream().anyMatch(e -> e.command().contains("| jq "))) {
            Tools.require("jq", "jq"); // the examples capture ids with it, as a reader would
        }
        try (Parley parley = TestServer.start(database, Map.of())) {
            Map<String, String> variables = Map.of("KEY", parley.apps().create("docs").apiKey());
            assertPlaceholdersAreFilled(examples, variables);
            return DocShell.run(examples, parley.port(), variables, dir);
        }
    }

    private static void assertAnsweredAsShown(String document, List<DocExample> examples, List<DocShell.Outcome> outcomes) {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            DocExample example = examples.get(i);
            DocShell.Outcome outcome = outcomes.get(i);
            AnswerCheck.mismatch(example, outcome).ifPresent(why -> failures.add(report(example, outcome, why)));
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of the " + examples.size() + " commands of " + document
                    + " do not answer as the document shows (run in order, so the first may explain the rest):\n\n"
                    + String.join("\n", failures));
        }
    }

    /** The place, the reason, the command, what the document shows and what came instead. */
    private static String report(DocExample example, DocShell.Outcome outcome, String why) {
        return example.place() + ": " + why + "\n$ " + example.command()
                + "\n--- shown:\n" + String.join("\n", example.shown())
                + "\n--- answered (HTTP " + outcome.statuses() + ", exit " + outcome.exit() + "):\n" + abbreviate(outcome.stdout())
                + (outcome.stderr().isBlank() ? "" : "\n--- stderr:\n" + abbreviate(outcome.stderr())) + "\n";
    }

    private static String abbreviate(String text) {
        return text.length() <= 3000 ? text : text.substring(0, 3000) + " ... (" + text.length() + " characters)";
    }

    /**
     * The exceptions stay few and visible: a block marked not run may start a server or migrate, never call
     * the API, and a block that calls it must be one the test reads as a shell example.
     */
    private static void assertEveryCurlExampleRuns(List<DocExamples.Block> blocks) {
        for (DocExamples.Block block : blocks) {
            if (block.callsParley()) {
                assertThat(block.runs()).as(block.document() + ":" + block.line() + " calls curl but is not run ("
                        + (block.isShell() ? "marked 'not run: " + block.notRunBecause() + "'" : "not a shell block: no '$ ' prompt, no sh tag")
                        + "); every curl example must run").isTrue();
            }
        }
    }

    private static void assertPlaceholdersAreFilled(List<DocExample> examples, Map<String, String> variables) {
        for (DocExample example : examples) {
            if (example.isPlaceholder()) {
                assertThat(variables).as(example.place() + " leaves $" + example.placeholderVariable()
                        + " to the reader; the test fills only " + variables.keySet()).containsKey(example.placeholderVariable());
            }
        }
    }
}
