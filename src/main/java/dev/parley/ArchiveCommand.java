package dev.parley;

import dev.parley.config.Ages;
import dev.parley.db.Partitions;
import dev.parley.lifecycle.Archive;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Period;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "archive", mixinStandardHelpOptions = true,
        description = {"Move whole months of messages older than an age out of the hot set into the archive schema,",
                "without blocking reads or appends. Archived messages stay readable: history paging back, a message's",
                "own id, and search with include_archived. A running Parley does this daily with PARLEY_ARCHIVE_AFTER."})
final class ArchiveCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--older-than", paramLabel = "AGE", required = true,
            description = "Months that ended longer ago than this: 30d, 8w, 6mo, 1y.")
    String olderThan;

    @Option(names = "--dry-run", description = "Only list the months that would move.")
    boolean dryRun;

    @Override
    public Integer call() {
        Period age;
        try {
            age = Ages.parse(olderThan);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--older-than: " + e.getMessage());
        }
        return dryRun ? archive(age) : Interruption.sayingRunAgain(spec.commandLine().getErr(), () -> archive(age));
    }

    private int archive(Period age) {
        var busy = new java.util.concurrent.atomic.AtomicBoolean();
        int status = database.withDatabase(db -> {
            var archive = new Archive(db, db, new Partitions(db), Clock.systemUTC());
            PrintWriter out = spec.commandLine().getOut();
            if (dryRun) {
                var due = archive.due(age);
                if (!due.isEmpty()) { // as the run would: it refuses before it moves anything
                    db.read(handle -> {
                        Partitions.requireNoDefaultPartition(handle, Partitions.HOT);
                        return null;
                    });
                }
                out.println(due.isEmpty() ? nothingDue(archive, age) + "."
                        : "Would archive " + due.size() + " month(s): " + due.stream().map(Partitions.Partition::name).toList());
                return;
            }
            Archive.Moved moved = archive.archiveOlderThan(age);
            if (moved.skipped()) { // not "nothing moved": a script must not take it for done
                spec.commandLine().getErr().println(Main.ROUND_RUNNING);
                busy.set(true);
                return;
            }
            out.println(moved.months().isEmpty() ? nothingDue(archive, age) + "; nothing moved."
                    : "Archived " + moved.months().size() + " month(s) " + moved.months() + ": " + moved.rows() + " message(s).");
        });
        return status == 0 && busy.get() ? Main.BUSY : status;
    }

    /** Why nothing is due: no hot month is old enough, and how many of the old enough ones are in the archive already. */
    private static String nothingDue(Archive archive, Period age) {
        long archived = archive.archivedBefore(age);
        return "No hot month ended before " + archive.limit(age)
                + (archived == 0 ? "" : " (" + archived + " month(s) before it are archived already)");
    }
}
