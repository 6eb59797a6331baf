package dev.parley.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client examples of docs/api.md run, as its curl examples do: after each curl example a {@code python} block
 * makes the same calls with clients/python. The blocks are one session, in order, in an app of its own on the
 * suite's Parley, starting from the {@code parley} the first block makes out of PARLEY_URL and PARLEY_KEY.
 * {@link DocProgram} keeps every line at its line of the document, and python3 runs them under the document's name
 * (run_python_examples.py, which also fails a line that never ran: an {@code except} whose error did not come), so
 * a failure names the document's line.
 */
class DocsClientExamplesTest {
    private static final String DOCUMENT = "docs/api.md";

    @TempDir
    Path dir;
    private List<DocExamples.Block> blocks;

    @BeforeEach
    void readTheDocument() throws Exception {
        blocks = DocExamples.fencedBlocks(DOCUMENT, Files.readAllLines(Path.of(DOCUMENT)));
    }

    @Test
    void the_python_examples_run_in_order_against_parley() throws Exception {
        Path python = Tools.require("python3", "python3");
        Path runner = Path.of(DocsClientExamplesTest.class.getResource("run_python_examples.py").toURI());
        Path program = Files.writeString(dir.resolve("api.py"), DocProgram.of(blocks, "python"));

        var run = Tools.run(Path.of("").toAbsolutePath(), newApp(Map.of("PYTHONPATH", "clients/python", "PYTHONDONTWRITEBYTECODE", "1")),
                Duration.ofMinutes(1), python.toString(), runner.toString(), DOCUMENT, program.toString());

        assertThat(run.status()).as("the Python examples of " + DOCUMENT + " (run in order: the first failure may explain the rest):\n"
                + run.output()).isZero();
    }

    /** The environment {@code more} with PARLEY_URL and PARLEY_KEY of a new app on the suite's Parley: the examples' own. */
    private static Map<String, String> newApp(Map<String, String> more) {
        Api app = TestServer.newApp();
        var env = new HashMap<>(more);
        env.putAll(Map.of("PARLEY_URL", app.base(), "PARLEY_KEY", app.key()));
        return env;
    }
}
