package dev.parley.db;

import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.CoreErrorCode;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.exception.FlywayValidateException;
import org.flywaydb.core.api.output.ValidateOutput;
import org.flywaydb.core.api.output.ValidateResult;

/** Parley's schema: the SQL files in {@code db/migration}, applied by {@code parley migrate} or {@code --migrate}. */
public final class Migrations {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Migrations.class);
    // Flyway's CHECKSUM_MISMATCH message: "-> Applied to database : 123" and "-> Resolved locally    : 456".
    private static final Pattern CHECKSUMS = Pattern.compile(
            "Applied to database\\s*:\\s*(-?\\d+).*?Resolved locally\\s*:\\s*(-?\\d+)", Pattern.DOTALL);

    // Flyway's NON_EMPTY_SCHEMA_WITHOUT_SCHEMA_HISTORY_TABLE message: Found non-empty schema(s) "public" but no schema ...
    private static final Pattern NON_EMPTY_SCHEMA = Pattern.compile("schema\\(s\\) (.+?) but no schema history");

    // The schema Flyway would migrate, when it holds tables but no flyway_schema_history: what migrate() refuses.
    private static final String FOREIGN_TABLES = """
            SELECT format('schema "%s"', current_schema()) FROM pg_tables
             WHERE schemaname = current_schema() AND to_regclass('flyway_schema_history') IS NULL LIMIT 1""";

    // What a database must be for Parley, read before Flyway touches it: its encoding and character classes; the
    // schema the connection's search_path names first (the one Flyway migrates, and Parley's statements read), null
    // when it names none that exists; and, when that schema holds no tables of Parley's (it may hold another app's
    // Flyway history), the other schemas of the search_path that do. From the catalog, which any role may read:
    // to_regclass('schema.table') wants USAGE on the schema, which no owner of a database has on pg_toast.
    private static final String FITNESS = """
            SELECT current_setting('server_encoding'),
                   (SELECT datctype FROM pg_database WHERE datname = current_database()), current_setting('search_path'),
                   quote_ident(current_schema()),
                   (SELECT string_agg(format('schema %I', n.nspname), ', ' ORDER BY n.nspname) FROM pg_namespace n
                     WHERE n.nspname = ANY (current_schemas(false)) AND n.nspname <> current_schema()
                       AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace here ON here.oid = c.relnamespace
                                        WHERE here.nspname = current_schema() AND c.relname = 'conversations')
                       AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'flyway_schema_history')
                       AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'conversations'))""";

    private final DataSource dataSource;
    private final Flyway flyway;

    public Migrations(DataSource dataSource) {
        this.dataSource = dataSource;
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
                .filter(migration -> migration.getState().isResolved()) // not a newer build's, found only in the history
                .map(MigrationInfo::getVersion)
                .filter(java.util.Objects::nonNull)
                .max(java.util.Comparator.naturalOrder())
                .orElseThrow(() -> new IllegalStateException("no migrations on the classpath"))
                .getVersion();
    }

    /**
     * Applies every pending migration; returns how many ran. Refuses, as {@link #requireCurrent} does, when an applied one
     * differs or the database is ahead of this build.
     */
    public int migrate() {
        return inASession(this::migrateNow);
    }

    private int migrateNow() {
        refuseUnfit();
        refuseNewer();
        try {
            return flyway.migrate().migrationsExecuted;
        } catch (FlywayValidateException e) {
            throw new SchemaNotCurrent(differences(flyway.validateWithResult()));
        } catch (FlywayException e) {
            if (e.getErrorCode() == CoreErrorCode.NON_EMPTY_SCHEMA_WITHOUT_SCHEMA_HISTORY_TABLE) {
                throw new SchemaNotCurrent(notParleys(e.getMessage()));
            }
            java.sql.SQLException refused = refusal(e);
            if (refused != null) {
                String role = role();
                throw new IllegalStateException("the role Parley connects as (" + role + ") may not change the database's "
                        + "schema (" + refused.getMessage().lines().findFirst().orElse("") + ", SQL state 42501): run parley "
                        + "migrate as the database's owner, or grant the role CREATE on the schema (GRANT CREATE ON SCHEMA "
                        + "public TO " + role + "); the migration that failed changed nothing", e);
            }
            throw e;
        }
    }

    /**
     * {@code work}, which needs one server session per connection (Flyway's lock, its prepared statements): a pooler
     * that lends a server connection for a transaction only (PgBouncer in transaction mode) loses them between two
     * transactions, and Flyway failed with its own words ("prepared statement "S_1" already exists") or, inside, with a
     * Java error ("Cannot invoke … because "currentSchema" is null"). Either is told as what to do.
     */
    private <T> T inASession(java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (RuntimeException e) {
            boolean lostStatements = preparedStatementLost(e);
            boolean flywayBroke = e instanceof NullPointerException && e.getStackTrace().length > 0
                    && e.getStackTrace()[0].getClassName().startsWith("org.flywaydb");
            if (!lostStatements && !flywayBroke) {
                throw e;
            }
            throw new IllegalStateException((lostStatements
                    ? "the database lost prepared statements between transactions, as PgBouncer in transaction mode does: "
                    : "the migrations failed inside Flyway (" + e.getMessage() + "), as they do through PgBouncer in "
                            + "transaction mode: ")
                    + "migrations need PostgreSQL itself. Point DATABASE_URL at PostgreSQL, or, keeping DATABASE_URL at "
                    + "the PgBouncer, set PARLEY_PGBOUNCER=transaction and PARLEY_DIRECT_DATABASE_URL to PostgreSQL "
                    + "(docs/operations.md, \"PgBouncer\")", e);
        }
    }

    /** Whether a statement failed as one prepared on another server connection: 26000 (not there) or 42P05 (there twice). */
    private static boolean preparedStatementLost(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.sql.SQLException sql && ("26000".equals(sql.getSQLState()) || "42P05".equals(sql.getSQLState()))) {
                return true;
            }
        }
        return false;
    }

    /** The role the migrations ran as, quoted as SQL names it; "the role" if it cannot be asked. */
    private String role() {
        try (var connection = dataSource.getConnection(); var rows = connection.createStatement()
                .executeQuery("SELECT quote_ident(current_user)")) {
            return rows.next() ? rows.getString(1) : "the role";
        } catch (java.sql.SQLException e) {
            return "the role";
        }
    }

    /** The permission refusal (SQL state 42501) that made a migration fail, if that is what it was; Flyway's text says "-X". */
    private static java.sql.SQLException refusal(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.sql.SQLException sql && "42501".equals(sql.getSQLState())) {
                return sql;
            }
        }
        return null;
    }

    /**
     * Flyway's advice for a schema that holds tables but no history is its baseline(), an option Parley does not
     * have, and would be wrong: Parley's migrations would then run over someone else's tables, or be skipped.
     */
    private static String notParleys(String flywayMessage) {
        Matcher named = NON_EMPTY_SCHEMA.matcher(String.valueOf(flywayMessage));
        return notParleysIn(named.find() ? "schema " + named.group(1) : "the database's schema");
    }

    private static String notParleysIn(String schema) {
        return schema + " already holds tables that are not Parley's (there is no flyway_schema_history to say Parley made "
                + "them): Parley migrates an empty database or one it migrated itself, and changed nothing here. Give it an "
                + "empty database of its own (createdb parley) and point DATABASE_URL at it";
    }

    /**
     * Checks the database is exactly at this build's schema; throws {@link SchemaNotCurrent} with what
     * to do when migrations are pending or the applied ones differ from the files.
     */
    public void requireCurrent() {
        inASession(() -> {
            requireCurrentNow();
            return null;
        });
    }

    private void requireCurrentNow() {
        refuseUnfit();
        refuseNewer();
        MigrationInfo[] pending = flyway.info().pending();
        if (pending.length > 0) {
            foreignSchema().ifPresent(schema -> { // "run parley migrate" would not: migrate() refuses it
                throw new SchemaNotCurrent(notParleysIn(schema));
            });
            throw new SchemaNotCurrent(pending.length + " migration(s) pending ("
                    + Arrays.stream(pending).map(MigrationInfo::getScript).collect(Collectors.joining(", "))
                    + "); run 'parley migrate' or start with --migrate");
        }
        var result = flyway.validateWithResult();
        if (!result.validationSuccessful) {
            throw new SchemaNotCurrent(differences(result));
        }
    }

    /**
     * A database Parley cannot serve, refused before anything is changed: one whose encoding is not UTF8 (a LATIN1 one
     * fails every write of text outside Latin-1, an SQL_ASCII one stores anything and then searches it wrongly), and a
     * migrated one whose tables a changed search_path hides (Parley would read, and migrate, an empty schema before them).
     */
    private void refuseUnfit() {
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement();
             var rows = statement.executeQuery(FITNESS)) {
            rows.next();
            String encoding = rows.getString(1);
            if (!"UTF8".equals(encoding)) {
                throw new IllegalStateException("the database's encoding is " + encoding + ", and Parley stores text of every "
                        + "language as UTF-8: give it a database made with ENCODING 'UTF8' (createdb -E UTF8 --locale=C.UTF-8 "
                        + "-T template0 parley) and point DATABASE_URL at it; changed nothing here");
            }
            String searchPath = rows.getString(3);
            String schema = rows.getString(4);
            if (schema == null) {
                throw new IllegalStateException("this connection's search_path (" + searchPath + ") names no schema that "
                        + "exists, so Parley would have nowhere to read or make its tables: give the role or the database "
                        + "the search_path of Parley's schema (ALTER ROLE … SET search_path = public); changed nothing here");
            }
            String elsewhere = rows.getString(5);
            if (elsewhere != null) {
                throw new IllegalStateException(elsewhere + " holds Parley's tables, but this connection's search_path ("
                        + searchPath + ") names schema " + schema + " first, where Parley would read and make its tables: "
                        + "give the role or the database the search_path Parley was migrated with (ALTER DATABASE … RESET "
                        + "search_path, or ALTER ROLE … SET search_path = …); changed nothing here");
            }
            String ctype = rows.getString(2);
            if (ctype.equals("C") || ctype.equals("POSIX")) {
                LOG.warn("the database's LC_CTYPE is {}: PostgreSQL folds no letter outside ASCII there, so search does not "
                        + "find 'École' for 'école'; a database made with a UTF-8 locale (createdb -E UTF8 --locale=C.UTF-8 "
                        + "-T template0) does", ctype);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not read the database's settings: " + e.getMessage(), e);
        }
    }

    /** The schema Flyway would migrate, named, when it holds tables that are not Parley's (and no history of Parley's). */
    private java.util.Optional<String> foreignSchema() {
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement();
             var rows = statement.executeQuery(FOREIGN_TABLES)) {
            return rows.next() ? java.util.Optional.of(rows.getString(1)) : java.util.Optional.empty();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not read the database's tables: " + e.getMessage(), e);
        }
    }

    /** The migrations not applied yet, oldest first, as "V23 (…)": what a start with --migrate is about to do. */
    public java.util.List<String> pending() {
        return Arrays.stream(flyway.info().pending()).map(m -> "V" + m.getVersion() + " (" + m.getDescription() + ")").toList();
    }

    /**
     * A database a newer Parley migrated: this build would write what that schema expects otherwise (a downgrade, or
     * an old instance restarted in the middle of a rolling upgrade), so it refuses to serve or migrate it.
     */
    private void refuseNewer() {
        var ahead = Arrays.stream(flyway.info().applied())
                .filter(m -> m.getState() == MigrationState.FUTURE_SUCCESS || m.getState() == MigrationState.FUTURE_FAILED)
                .toList();
        if (!ahead.isEmpty()) {
            throw new SchemaNotCurrent("the database's schema is newer than this build's (V" + latestVersion() + "): "
                    + ahead.stream().map(m -> "V" + m.getVersion() + " (" + m.getDescription() + ")")
                            .collect(Collectors.joining(", "))
                    + " applied by a newer Parley; run that version or a later one");
        }
    }

    /**
     * What differs, in Parley's words: Flyway's own advice is to run its {@code repair}, a command Parley does not
     * have; docs/operations.md ("Schema") says what to do instead.
     */
    private static String differences(ValidateResult result) {
        return "the applied migrations differ from this build's: " + result.invalidMigrations.stream()
                .map(Migrations::difference).collect(Collectors.joining("; "))
                + " (docs/operations.md, \"Schema\", says what to do)";
    }

    private static String difference(ValidateOutput migration) {
        String name = "V" + migration.version + " (" + migration.description + ")";
        Matcher checksums = CHECKSUMS.matcher(migration.errorDetails.errorMessage);
        if (migration.errorDetails.errorCode == CoreErrorCode.CHECKSUM_MISMATCH && checksums.find()) {
            return name + " was applied from another version of its file: checksum " + checksums.group(1)
                    + " in flyway_schema_history, " + checksums.group(2) + " in this build";
        }
        return name + ": " + migration.errorDetails.errorMessage.lines().findFirst().orElse("").strip();
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
