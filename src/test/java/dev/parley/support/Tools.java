package dev.parley.support;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Programs from outside the JDK that some tests drive (promtool, chromium, chromedriver, node, npm, python3,
 * pgbouncer). CI installs them and sets PARLEY_REQUIRE_TOOLS=1, so there a missing one fails; elsewhere their
 * tests are skipped, saying why.
 */
public final class Tools {
    private Tools() {
    }

    /**
     * The program's path, or the test stops here: skipped, or failed under CI. Daemons such as pgbouncer
     * install into /usr/sbin, which a user's PATH often lacks, so that is searched too.
     */
    public static Path require(String program, String debianPackage) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin") + ":/usr/sbin:/sbin";
        for (String dir : path.split(":")) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        String why = program + " is not installed (Debian package " + debianPackage + "; .ci/run installs it)";
        if ("1".equals(System.getenv("PARLEY_REQUIRE_TOOLS"))) {
            fail(why);
        }
        Assumptions.abort(why);
        return null;
    }

    public record Result(int status, String output) {
    }

    /** Runs {@code command} in {@code dir} to its end (at most two minutes) and returns its status and output. */
    public static Result run(Path dir, String... command) throws IOException, InterruptedException {
        return run(dir, Map.of(), Duration.ofMinutes(2), command);
    }

    /**
     * Runs {@code command} in {@code dir} with {@code env} added to this JVM's environment, and returns its status
     * and output; past {@code timeout} it is killed, with its children, and the test fails showing what it printed.
     */
    public static Result run(Path dir, Map<String, String> env, Duration timeout, String... command)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile("parley-tool-", ".log"); // a file, not a pipe: waitFor's timeout holds even if it hangs
        try {
            var builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            builder.environment().putAll(env);
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                fail(String.join(" ", command) + " did not finish in " + timeout.toSeconds() + " s; it printed:\n" + read(output));
            }
            return new Result(process.exitValue(), read(output));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /**
     * npm ci in {@code project}, unless its node_modules holds what this very lockfile installed (npm ci starts from
     * nothing, so each run would fetch it all again).
     */
    public static void npmCi(Path project, Path npm) throws IOException, InterruptedException {
        Path lockfile = project.resolve("package-lock.json");
        Path installed = project.resolve("node_modules/.parley-installed-lock.json");
        // The test JVMs run side by side, and two classes install here: one installs while the other waits, then reuses it.
        try (var lock = FileChannel.open(Files.createDirectories(Path.of("target")).resolve("npm-ci.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE).lock()) {
            if (Files.exists(installed) && Files.mismatch(lockfile, installed) == -1) {
                return;
            }
            Result run = run(project, Map.of(), Duration.ofMinutes(3), npm.toString(), "ci", "--no-audit", "--no-fund");
            if (run.status() != 0) {
                fail("npm ci in " + project + " exited with " + run.status() + ":\n" + run.output());
            }
            Files.copy(lockfile, installed, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String read(Path output) throws IOException {
        return new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
    }
}
