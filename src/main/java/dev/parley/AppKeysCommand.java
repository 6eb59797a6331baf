package dev.parley;

import static dev.parley.AppsCommand.checkUsage;
import static dev.parley.AppsCommand.withApps;

import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "keys", mixinStandardHelpOptions = true,
        description = {"Create, list and revoke an app's API keys.",
                "To rotate a key: create a new one, move the clients to it, then revoke the old one."},
        subcommands = {AppKeysCommand.Create.class, AppKeysCommand.ListKeys.class, AppKeysCommand.Revoke.class})
final class AppKeysCommand {
    @ParentCommand
    AppsCommand apps;

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create another key for the app and print it. The key is shown once; only its hash is stored.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppKeysCommand parent;

        @Parameters(paramLabel = "NAME", description = "The app's name.")
        String name;

        @Override
        public Integer call() {
            checkUsage(spec, () -> Apps.checkName(name));
            return withApps(parent.apps.database, apps -> {
                ApiKeys.Issued issued = apps.issueKey(name);
                PrintWriter out = spec.commandLine().getOut();
                out.println("Created key " + issued.prefix() + " (id " + issued.id() + ") for app '" + name
                        + "'. The key, shown only this once:");
                out.println(issued.key());
            });
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the app's keys by id and prefix, with when each was created and revoked; never a key itself.")
    static final class ListKeys implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppKeysCommand parent;

        @Parameters(paramLabel = "NAME", description = "The app's name.")
        String name;

        @Override
        public Integer call() {
            checkUsage(spec, () -> Apps.checkName(name));
            return withApps(parent.apps.database, apps -> {
                var keys = apps.keys(name); // before the header: an unknown app prints nothing on stdout, only its error
                PrintWriter out = spec.commandLine().getOut();
                out.printf("%-8s %-12s %-28s %s%n", "ID", "PREFIX", "CREATED", "REVOKED");
                keys.forEach(key -> out.printf("%-8d %-12s %-28s %s%n", key.id(), key.prefix(), key.createdAt(),
                        key.revokedAt() == null ? "-" : key.revokedAt()));
            });
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke one of the app's keys: every running Parley refuses it within a second. A revoked key stays revoked.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @ParentCommand
        AppKeysCommand parent;

        @Parameters(index = "0", paramLabel = "NAME", description = "The app's name.")
        String name;

        @Parameters(index = "1", paramLabel = "KEY_PREFIX_OR_ID",
                description = "The key's prefix (pk_ and 7 characters) or its id, as 'parley apps keys list' shows them.")
        String key;

        @Override
        public Integer call() {
            checkUsage(spec, () -> {
                Apps.checkName(name);
                ApiKeys.checkReference(key);
            });
            return withApps(parent.apps.database, apps -> {
                ApiKeys.Key revoked = apps.revokeKey(name, key);
                spec.commandLine().getOut().println("Key " + revoked.prefix() + " (id " + revoked.id() + ") of app '" + name
                        + "' is revoked, since " + revoked.revokedAt() + ".");
            });
        }
    }
}
