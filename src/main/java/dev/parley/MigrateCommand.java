package dev.parley;

import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Migrations;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = "Apply Parley's pending schema migrations (or, with --check, only report whether any are pending).")
final class MigrateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--check", description = "Change nothing; exit 1 if migrations are pending or differ from this build's.")
    boolean check;

    @Override
    public Integer call() {
        return check ? migrate() : Interruption.sayingRunAgain(spec.commandLine().getErr(), this::migrate);
    }

    private int migrate() {
        Settings settings = database.settings();
        PrintWriter out = spec.commandLine().getOut();
        boolean making = !check && Storage.wouldMake(settings);
        try (Storage storage = check ? Storage.forCommand(settings) : Storage.forCommandMaking(settings);
             Database db = storage.connect()) {
            var migrations = new Migrations(db.dataSource());
            if (making) { // not an upgrade: say so, as a mistyped --data-dir lands here too
                out.println(Storage.made(settings));
            }
            if (check) {
                migrations.requireCurrent();
                out.println("The schema is current.");
            } else {
                int applied = migrations.migrate();
                out.println(applied == 0 ? "The schema was already current." : "Applied " + applied + " migration(s).");
            }
            out.println(migrations.describe());
            return 0;
        }
    }
}
