package dev.parley;

import dev.parley.apps.Apps;
import dev.parley.apps.Origins;
import dev.parley.chat.InvalidInput;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "apps", mixinStandardHelpOptions = true,
        description = {"Manage apps (tenants), their API keys and the browser origins they allow.",
                "The admin port's /admin/apps routes do the same over HTTP."},
        subcommands = {AppsCommand.Create.class, AppsCommand.ListApps.class, AppsCommand.Delete.class, AppKeysCommand.class,
                AppsCommand.Cors.class})
final class AppsCommand {
    @Mixin
    DatabaseOptions database;

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an app and print its API key. The key is shown once; only its hash is stored.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppsCommand parent;

        @Parameters(paramLabel = "NAME", description = "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit.")
        String name;

        @Override
        public Integer call() {
            checkUsage(spec, () -> Apps.checkName(name));
            boolean making = Storage.wouldMake(parent.database.settings());
            return parent.database.withDatabaseMaking(db -> {
                var created = Apps.forCommands(db).create(name);
                PrintWriter out = spec.commandLine().getOut();
                if (making) { // a mistyped --data-dir lands here too: its key is for a new database
                    out.println(Storage.made(parent.database.settings()));
                }
                out.println("Created app '" + created.name() + "' (id " + created.appId() + "). Its API key, shown only this once:");
                out.println(created.apiKey());
            });
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List apps, how many active keys each has, and the browser origins each allows.")
    static final class ListApps implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppsCommand parent;

        @Override
        public Integer call() {
            return withApps(parent.database, apps -> {
                PrintWriter out = spec.commandLine().getOut();
                out.printf("%-8s %-30s %-12s %-28s %s%n", "ID", "NAME", "ACTIVE KEYS", "CREATED", "ORIGINS");
                apps.list().forEach(app -> out.printf("%-8d %-30s %-12d %-28s %s%n", app.id(), app.name(), app.activeKeys(),
                        app.createdAt(), app.allowedOrigins().isEmpty() ? "-" : String.join(",", app.allowedOrigins())));
            });
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = {"Delete an app and everything it holds: its users, characters, conversations, messages (archived "
                    + "ones too), memories and keys. It cannot be undone.",
                    "Its keys are revoked first, so nothing new is written with them; every running Parley refuses them within "
                            + "a second. Interrupted, it leaves the app with less data; run it again to finish."})
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppsCommand parent;

        @Parameters(paramLabel = "NAME", description = "The app's name.")
        String name;

        @Option(names = "--yes", description = "Delete it: without this nothing is deleted.")
        boolean yes;

        @Override
        public Integer call() {
            checkUsage(spec, () -> Apps.checkName(name));
            if (!yes) {
                throw new ParameterException(spec.commandLine(), "deleting app '" + name + "' erases everything it holds and "
                        + "cannot be undone; to go ahead, run: parley apps delete " + name + " --yes");
            }
            return withApps(parent.database, apps -> {
                var deleted = apps.delete(name);
                PrintWriter out = spec.commandLine().getOut();
                out.println("Deleted app '" + deleted.name() + "' (id " + deleted.id() + "):");
                deleted.rows().forEach((kind, rows) -> out.printf("  %-20s %d%n", kind, rows));
            });
        }
    }

    @Command(name = "cors", mixinStandardHelpOptions = true,
            description = {"Set the browser origins whose pages may call the API with the app's keys (CORS), or clear them.",
                    "Every running Parley follows within a second. With none (the default) no browser page may read the answers."})
    static final class Cors implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppsCommand parent;

        @Parameters(paramLabel = "NAME", description = "The app's name.")
        String name;

        @ArgGroup(multiplicity = "1")
        Choice choice;

        static final class Choice {
            @Option(names = "--origins", split = ",", paramLabel = "ORIGIN",
                    description = "The origins, comma-separated, e.g. https://app.example.com,http://localhost:5173. "
                            + "They replace the app's list; at most " + Origins.MAX_PER_APP + ".")
            List<String> origins;

            @Option(names = "--clear", description = "Allow no origin.")
            boolean clear;
        }

        @Override
        public Integer call() {
            List<String> origins = choice.clear ? List.of() : choice.origins;
            checkUsage(spec, () -> {
                Apps.checkName(name);
                Origins.checked(origins);
            });
            return withApps(parent.database, apps -> {
                List<String> allowed = apps.setOrigins(name, origins);
                spec.commandLine().getOut().println(allowed.isEmpty() ? "App '" + name + "' allows no browser origin."
                        : "App '" + name + "' allows pages from: " + String.join(", ", allowed));
            });
        }
    }

    /** Runs {@code check}: what it refuses is a usage error, told before connecting (exit 2). */
    static void checkUsage(CommandSpec spec, Runnable check) {
        try {
            check.run();
        } catch (InvalidInput e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    interface AppsWork {
        void run(Apps apps);
    }

    static int withApps(DatabaseOptions database, AppsWork work) {
        return database.withDatabase(db -> work.run(Apps.forCommands(db)));
    }
}
