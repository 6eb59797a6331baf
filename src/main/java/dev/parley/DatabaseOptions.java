package dev.parley;

import picocli.CommandLine.Option;

/** Where the data lives: flags every command that touches the database shares. */
final class DatabaseOptions {
    @Option(names = "--database-url", paramLabel = "URL",
            description = "PostgreSQL 15+ to use, postgres://user:pass@host:5432/db (env DATABASE_URL). "
                    + "Default: an embedded PostgreSQL in the data folder.")
    String databaseUrl;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Folder of the embedded PostgreSQL (env PARLEY_DATA_DIR, default ~/.parley).")
    String dataDir;
}
