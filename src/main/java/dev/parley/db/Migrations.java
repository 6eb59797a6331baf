package dev.parley.db;

import java.util.Arrays;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationState;

/** Parley's schema: the SQL files in {@code db/migration}, applied by {@code parley migrate} or {@code --migrate}. */
public final class Migrations {
    private final Flyway flyway;

    public Migrations(DataSource dataSource) {
        this.flyway = Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .validateMigrationNaming(true)
                .cleanDisabled(true)
                .load();
    }

    /** The version of this build's newest migration ("9"), which a database must have to be served. */
    public String latestVersion() {
        return Arrays.stream(flyway.info().all())
                .map(MigrationInfo::getVersion)
                .filter(java.util.Objects::nonNull)
                .max(java.util.Comparator.naturalOrder())
                .orElseThrow(() -> new IllegalStateException("no migrations on the classpath"))
                .getVersion();
    }

    /** Applies every pending migration; returns how many ran. */
    public int migrate() {
        return flyway.migrate().migrationsExecuted;
    }

    /**
     * Checks the database is exactly at this build's schema; throws {@link SchemaNotCurrent} with what
     * to do when migrations are pending or the applied ones differ from the files.
     */
    public void requireCurrent() {
        MigrationInfo[] pending = flyway.info().pending();
        if (pending.length > 0) {
            throw new SchemaNotCurrent(pending.length + " migration(s) pending ("
                    + Arrays.stream(pending).map(MigrationInfo::getScript).collect(Collectors.joining(", "))
                    + "); run 'parley migrate' or start with --migrate");
        }
        var result = flyway.validateWithResult();
        if (!result.validationSuccessful) {
            throw new SchemaNotCurrent("the applied migrations differ from this build's: " + result.getAllErrorMessages());
        }
    }

    /** One line per migration: version, description, state. */
    public String describe() {
        return Arrays.stream(flyway.info().all())
                .map(m -> String.format("%-6s %-50s %s", m.getVersion(), m.getDescription(), state(m.getState())))
                .collect(Collectors.joining("\n"));
    }

    private static String state(MigrationState state) {
        return state.getDisplayName().toLowerCase(java.util.Locale.ROOT);
    }

    /** The database schema does not match this build. */
    public static final class SchemaNotCurrent extends RuntimeException {
        SchemaNotCurrent(String message) {
            super(message);
        }
    }
}
