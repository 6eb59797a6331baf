package dev.parley.support;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Programs from outside the JDK that some tests drive (promtool, chromium, chromedriver, pgbouncer). CI installs
 * them and sets PARLEY_REQUIRE_TOOLS=1, so there a missing one fails; elsewhere its tests are skipped, saying why.
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
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in two minutes");
        }
        return new Result(process.exitValue(), output);
    }
}
