package dev.parley.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client examples of docs/api.md run, as its curl examples do: after each curl example a {@code python} and a
 * {@code ts} block make the same calls with clients/python and clients/typescript. Each language's blocks are one
 * session, in order, in an app of its own on the suite's Parley, starting from the {@code parley} the first block
 * makes out of PARLEY_URL and PARLEY_KEY. {@link DocProgram} keeps every line at its line of the document, so a
 * failure names the document's line: python3 runs them under the document's name (run_python_examples.py, which
 * also fails a line that never ran: an {@code except} whose error did not come), and tsc --strict and node report
 * the lines of doc-examples/api.ts, shown here as the document's. The examples of clients/README.md run the same
 * way, so what a developer copies from there runs too.
 */
class DocsClientExamplesTest {
    private static final String DOCUMENT = "docs/api.md";
    private static final String CLIENTS_README = "clients/README.md";
    private static final Path TYPESCRIPT = Path.of("clients/typescript");
    /** Where the TypeScript examples are compiled: inside the client, whose node_modules their imports resolve from. */
    private static final Path TS_EXAMPLES = TYPESCRIPT.resolve("doc-examples");
    /** What the examples import, as a reader installs it; here the client's own sources stand for it. */
    private static final String PACKAGE_IMPORT = "from \"@parley/client\"";
    private static final String TS_CONFIG = """
            {
              "extends": "../tsconfig.json",
              "compilerOptions": { "rootDir": "..", "outDir": "dist", "declaration": false, "sourceMap": true },
              "include": ["%s.ts"]
            }
            """;
    /** {@code doc-examples/api.ts(12,5)} as tsc names a line, {@code /…/doc-examples/api.ts:12:5} as node's stack does. */
    private static final String TS_LINE = "[^\\s(]*doc-examples/%s\\.ts(?:\\((\\d+),(\\d+)\\)|:(\\d+):(\\d+))";

    @TempDir
    Path dir;
    private List<DocExamples.Block> blocks;

    @BeforeEach
    void readTheDocument() throws Exception {
        blocks = blocksOf(DOCUMENT);
    }

    private static List<DocExamples.Block> blocksOf(String document) throws Exception {
        return DocExamples.fencedBlocks(document, Files.readAllLines(Path.of(document)));
    }

    @Test
    void every_curl_example_is_followed_by_a_python_and_a_typescript_one() {
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            if (blocks.get(i).callsParley()) {
                Set<String> after = new HashSet<>();
                for (int j = i + 1; j < blocks.size() && !blocks.get(j).isShell(); j++) {
                    after.add(blocks.get(j).language());
                }
                if (!after.containsAll(List.of("python", "ts"))) {
                    missing.add(DOCUMENT + ":" + blocks.get(i).line() + " is followed by " + after + " before the next shell example");
                }
            }
        }
        assertThat(missing).as("curl examples without a python and a ts block after them").isEmpty();
    }

    @Test
    void the_python_examples_run_in_order_against_parley() throws Exception {
        runPython(DOCUMENT, blocks, "api");
    }

    @Test
    void the_typescript_examples_type_check_and_run_in_order_against_parley() throws Exception {
        runTypescript(DOCUMENT, blocks, "api");
    }

    @Test
    void the_client_readmes_python_examples_run_against_parley() throws Exception {
        runPython(CLIENTS_README, blocksOf(CLIENTS_README), "readme");
    }

    @Test
    void the_client_readmes_typescript_examples_type_check_and_run_against_parley() throws Exception {
        runTypescript(CLIENTS_README, blocksOf(CLIENTS_README), "readme");
    }

    private void runPython(String document, List<DocExamples.Block> blocks, String name) throws Exception {
        Path python = Tools.require("python3", "python3");
        Path runner = Path.of(DocsClientExamplesTest.class.getResource("run_python_examples.py").toURI());
        Path program = Files.writeString(dir.resolve(name + ".py"), DocProgram.of(blocks, "python"));

        var run = Tools.run(Path.of("").toAbsolutePath(), newApp(Map.of("PYTHONPATH", "clients/python", "PYTHONDONTWRITEBYTECODE", "1")),
                Duration.ofMinutes(1), python.toString(), runner.toString(), document, program.toString());

        assertThat(run.status()).as("the Python examples of " + document + " (run in order: the first failure may explain the rest):\n"
                + run.output()).isZero();
    }

    /** Compiled in doc-examples/{@code name}.ts with a tsconfig of its own (doc-examples/{@code name}.json). */
    private void runTypescript(String document, List<DocExamples.Block> blocks, String name) throws Exception {
        Path node = Tools.require("node", "nodejs");
        Tools.npmCi(TYPESCRIPT, Tools.require("npm", "npm"));
        Files.createDirectories(TS_EXAMPLES);
        Files.writeString(TS_EXAMPLES.resolve(name + ".json"), TS_CONFIG.formatted(name));
        Files.writeString(TS_EXAMPLES.resolve(name + ".ts"), DocProgram.of(blocks, "ts").replace(PACKAGE_IMPORT, "from \"../src/index.js\""));

        var compiled = Tools.run(TYPESCRIPT, Map.of(), Duration.ofMinutes(1), node.toString(), "node_modules/typescript/bin/tsc",
                "--pretty", "false", "-p", "doc-examples/" + name + ".json");
        assertThat(compiled.status()).as("the TypeScript examples of " + document + " do not type-check (tsc --strict):\n"
                + inTheDocument(compiled.output(), document, name)).isZero();

        var run = Tools.run(TYPESCRIPT, newApp(Map.of("NO_COLOR", "1")), Duration.ofMinutes(1), node.toString(), "--enable-source-maps",
                "doc-examples/dist/doc-examples/" + name + ".js");
        assertThat(run.status()).as("the TypeScript examples of " + document + " (run in order: the first failure may explain the rest):\n"
                + inTheDocument(run.output(), document, name)).isZero();
    }

    /** The environment {@code more} with PARLEY_URL and PARLEY_KEY of a new app on the suite's Parley: the examples' own. */
    private static Map<String, String> newApp(Map<String, String> more) {
        Api app = TestServer.newApp();
        var env = new HashMap<>(more);
        env.putAll(Map.of("PARLEY_URL", app.base(), "PARLEY_KEY", app.key()));
        return env;
    }

    /** Lines of doc-examples/{@code name}.ts as the document's: {@code docs/api.md:12:5}. */
    private static String inTheDocument(String output, String document, String name) {
        return Pattern.compile(TS_LINE.formatted(name)).matcher(output).replaceAll(line -> document + ":"
                + (line.group(1) != null ? line.group(1) + ":" + line.group(2) : line.group(3) + ":" + line.group(4)));
    }
}
