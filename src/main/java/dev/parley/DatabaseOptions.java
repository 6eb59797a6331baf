package dev.parley;

import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Migrations;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * Where the data lives: flags every command that touches the database shares. A command with subcommands
 * ({@code retention}, {@code apps}, {@code bench}) holds the one copy its subcommands inherit and read: a flag
 * before the subcommand counts as one after it, instead of going unread while the subcommand works on ~/.parley.
 */
public final class DatabaseOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    String databaseUrl;
    String dataDir;
    String embeddedPort;

    @Option(names = "--database-url", paramLabel = "URL", scope = ScopeType.INHERIT,
            description = "PostgreSQL 15+ to use, postgres://user:pass@host:5432/db (env DATABASE_URL). "
                    + "Default: an embedded PostgreSQL in the data folder. Commands connect to "
                    + "PARLEY_DIRECT_DATABASE_URL instead when it is set (DATABASE_URL then names a PgBouncer).")
    void databaseUrl(String url) {
        databaseUrl = once("--database-url", databaseUrl, url);
    }

    @Option(names = "--data-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = "Folder of the embedded PostgreSQL (env PARLEY_DATA_DIR, default ~/.parley).")
    void dataDir(String dir) {
        dataDir = once("--data-dir", dataDir, dir);
    }

    @Option(names = "--embedded-port", paramLabel = "PORT", scope = ScopeType.INHERIT,
            description = "Port for the embedded PostgreSQL, for psql and other tools (env PARLEY_EMBEDDED_PORT, default: any free port).")
    void embeddedPort(String port) {
        embeddedPort = once("--embedded-port", embeddedPort, port);
    }

    /** picocli refuses a flag twice in one command; this refuses it before and after a subcommand, not one silently winning. */
    private String once(String flag, String had, String given) {
        if (had != null && given != null) {
            throw new ParameterException(command.commandLine(), "option '" + flag + "' should be specified only once, "
                    + "before or after the subcommand, not both");
        }
        return given;
    }

    /** The settings these flags give, over the environment. */
    public Settings settings() {
        return Settings.resolve(Settings.Flags.database(databaseUrl, dataDir, embeddedPort), System.getenv());
    }

    /** What a command does with the database. */
    public interface Work {
        void run(Database database);
    }

    /**
     * Opens the database these flags name (an embedded one must exist: {@link Storage#forCommand}), migrates an
     * embedded one (a server's must be current: 'parley migrate' changes a shared schema on purpose, never by the
     * way), runs {@code work} and closes it; 0.
     */
    public int withDatabase(Work work) {
        return withDatabase(Storage.forCommand(settings()), work);
    }

    /** As {@link #withDatabase}, making the embedded database if the data folder has none (parley apps create). */
    public int withDatabaseMaking(Work work) {
        return withDatabase(Storage.forCommandMaking(settings()), work);
    }

    private static int withDatabase(Storage opened, Work work) {
        try (Storage storage = opened;
             Database db = storage.connect()) {
            var migrations = new Migrations(db.dataSource());
            if (storage.embedded()) {
                migrations.migrate();
            } else {
                migrations.requireCurrent();
            }
            work.run(db);
            return 0;
        }
    }
}
