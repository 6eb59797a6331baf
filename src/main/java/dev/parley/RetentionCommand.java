package dev.parley;

import dev.parley.apps.Apps;
import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.lifecycle.Retention;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "retention", mixinStandardHelpOptions = true,
        description = {"Show how long each app keeps its messages; set it; apply it now.",
                "A running Parley applies it daily by itself."},
        subcommands = {RetentionCommand.Set.class, RetentionCommand.Apply.class})
final class RetentionCommand implements Callable<Integer> {
    /** An app's retention: days kept, or null for for ever. */
    private record Policy(String name, Integer days) {
    }

    private static final Query POLICIES = new Query("retention.list", """
            SELECT name, message_retention_days FROM apps ORDER BY app_id""");

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Override
    public Integer call() {
        return withRetention(database, (db, retention) -> {
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-30s %-12s %s%n", "APP", "KEEPS", "DELETES MESSAGES BEFORE");
            List<Policy> apps = db.read(handle -> handle.list(POLICIES, row -> {
                String name = row.getString(1);
                int days = row.getInt(2);
                return new Policy(name, row.wasNull() ? null : days);
            }));
            for (Policy app : apps) {
                out.printf("%-30s %-12s %s%n", app.name(), app.days() == null ? "for ever" : app.days() + " days",
                        app.days() == null ? "-" : retention.cutoffTime(app.days()));
            }
        });
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Keep an app's messages DAYS days, or 'forever'.")
    static final class Set implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        RetentionCommand parent;

        @Parameters(index = "0", paramLabel = "APP", description = "The app's name.")
        String app;

        @Parameters(index = "1", paramLabel = "DAYS", description = "1-" + Retention.MAX_DAYS + ", or 'forever'.")
        String days;

        @Override
        public Integer call() {
            Integer kept = days.equals("forever") ? null : parse(days);
            return withRetention(parent.database, (db, retention) -> {
                long appId = Apps.idOf(db, app);
                retention.setDays(appId, kept);
                spec.commandLine().getOut().println(kept == null ? "App '" + app + "' keeps its messages for ever."
                        : "App '" + app + "' keeps its messages " + kept + " days: older ones go at the next round "
                        + "(daily, or 'parley retention apply').");
            });
        }

        private Integer parse(String text) {
            try {
                int value = Integer.parseInt(text);
                if (value >= 1 && value <= Retention.MAX_DAYS) {
                    return value;
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "DAYS must be a whole number from 1 to " + Retention.MAX_DAYS + ", or 'forever'; got '" + text + "'");
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Apply every app's retention now: drop whole months where all apps allow, delete the rest in batches.")
    static final class Apply implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        RetentionCommand parent;

        @Override
        public Integer call() {
            var busy = new java.util.concurrent.atomic.AtomicBoolean();
            int status = withRetention(parent.database, (db, retention) -> {
                Retention.Applied applied = retention.apply();
                if (applied.skipped()) { // not "dropped 0": a script must not take it for done
                    spec.commandLine().getErr().println(Main.ROUND_RUNNING);
                    busy.set(true);
                    return;
                }
                PrintWriter out = spec.commandLine().getOut();
                out.println("Dropped " + applied.partitionsDropped().size() + " month(s)"
                        + (applied.partitionsDropped().isEmpty() ? "" : " " + applied.partitionsDropped())
                        + " holding " + applied.rowsDropped() + " message(s).");
                out.println("Deleted " + applied.rowsDeleted() + " older message(s) of " + applied.rowsDeletedByApp().size()
                        + " app(s) in " + applied.batches() + " batch(es).");
            });
            return status == 0 && busy.get() ? Main.BUSY : status;
        }
    }

    private interface Work {
        void run(Database db, Retention retention);
    }

    private static int withRetention(DatabaseOptions database, Work work) {
        return database.withDatabase(db -> work.run(db, new Retention(db, db, new Partitions(db), Clock.systemUTC(), Retention.BATCH_ROWS)));
    }
}
