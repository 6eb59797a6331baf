package dev.parley;

import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Migrations;
import picocli.CommandLine.Option;

/** Where the data lives: flags every command that touches the database shares. */
public final class DatabaseOptions {
    @Option(names = "--database-url", paramLabel = "URL",
            description = "PostgreSQL 15+ to use, postgres://user:pass@host:5432/db (env DATABASE_URL). "
                    + "Default: an embedded PostgreSQL in the data folder. Commands connect to "
                    + "PARLEY_DIRECT_DATABASE_URL instead when it is set (DATABASE_URL then names a PgBouncer).")
    String databaseUrl;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Folder of the embedded PostgreSQL (env PARLEY_DATA_DIR, default ~/.parley).")
    String dataDir;

    @Option(names = "--embedded-port", paramLabel = "PORT",
            description = "Port for the embedded PostgreSQL, for psql and other tools (env PARLEY_EMBEDDED_PORT, default: any free port).")
    String embeddedPort;

    /** The settings these flags give, over the environment. */
    public Settings settings() {
        return Settings.resolve(Settings.Flags.database(databaseUrl, dataDir, embeddedPort), System.getenv());
    }

    /** What a command does with the database. */
    public interface Work {
        void run(Database database);
    }

    /**
     * Opens the database these flags name, migrates an embedded one (a server's must be current: 'parley
     * migrate' changes a shared schema on purpose, never by the way), runs {@code work} and closes it; 0.
     */
    public int withDatabase(Work work) {
        try (Storage storage = Storage.open(settings());
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
