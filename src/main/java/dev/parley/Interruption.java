package dev.parley;

import java.io.PrintWriter;
import java.util.function.IntSupplier;

/**
 * For the commands that finish what an earlier run left when they are run again (import, archive, migrate): stopped
 * by Ctrl-C (or SIGTERM), they said nothing and exited 130, and the operator could not tell whether the work was
 * done, or lost. The JVM runs its shutdown hooks on either signal: this one says what to do, on stderr.
 */
final class Interruption {
    static final String RUN_AGAIN = "interrupted; run the same command again to finish";

    private Interruption() {
    }

    /** {@code work}'s status; should the process be stopped while it runs, one line on {@code err} says to run it again. */
    static int sayingRunAgain(PrintWriter err, IntSupplier work) {
        Thread hook = new Thread(() -> {
            err.println(RUN_AGAIN);
            err.flush();
        }, "parley-interrupted");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return work.getAsInt();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // stopped as it finished: the hook says so, or has
            }
        }
    }
}
