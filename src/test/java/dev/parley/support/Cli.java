package dev.parley.support;

import dev.parley.Main;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the {@code parley} command line in this JVM, as the CLI tests do, and captures what it printed. */
public final class Cli {
    private Cli() {
    }

    /** What a command printed and the status it exited with. */
    public record Run(int status, String out, String err) {
    }

    public static Run parley(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(status, out.toString(), err.toString());
    }
}
