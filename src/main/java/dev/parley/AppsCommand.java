package dev.parley;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "apps", mixinStandardHelpOptions = true,
        description = "Manage apps (tenants) and their API keys.",
        subcommands = {AppsCommand.Create.class, AppsCommand.ListApps.class})
final class AppsCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an app and print its API key. The key is shown once; only its hash is stored.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        DatabaseOptions database;

        @Parameters(paramLabel = "NAME", description = "1-63 letters, digits, '_', '.' or '-'.")
        String name;

        @Override
        public Integer call() {
            try {
                Apps.checkName(name);
            } catch (IllegalArgumentException e) { // a usage error, told before connecting
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            return withApps(database, apps -> {
                var created = apps.create(name);
                PrintWriter out = spec.commandLine().getOut();
                out.println("Created app '" + created.name() + "' (id " + created.appId() + "). Its API key, shown only this once:");
                out.println(created.apiKey());
            });
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List apps and how many active keys each has.")
    static final class ListApps implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        DatabaseOptions database;

        @Override
        public Integer call() {
            return withApps(database, apps -> {
                PrintWriter out = spec.commandLine().getOut();
                out.printf("%-8s %-30s %-12s %s%n", "ID", "NAME", "ACTIVE KEYS", "CREATED");
                apps.list().forEach(app -> out.printf("%-8d %-30s %-12d %s%n", app.id(), app.name(), app.activeKeys(), app.createdAt()));
            });
        }
    }

    private interface AppsWork {
        void run(Apps apps);
    }

    private static int withApps(DatabaseOptions database, AppsWork work) {
        return database.withDatabase(db -> work.run(new Apps(db, new ApiKeys(db, Ticker.systemTicker()))));
    }
}
