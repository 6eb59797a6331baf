package dev.parley.ops.doctor;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Period;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Audits one PostgreSQL database (15 or newer, Parley's or any other): runs the checks on a single
 * connection with short statement and lock timeouts, so the audit never blocks the application, and
 * collects findings, skipped checks and partial results into a {@link Report}. Applies the automatic
 * fixes on request, one statement at a time, never inside a transaction.
 */
public final class Doctor {
    private static final List<Query> SESSION = List.of(
            new Query("doctor.session_statement_timeout", "SET statement_timeout = '30s'"),
            new Query("doctor.session_lock_timeout", "SET lock_timeout = '2s'"),
            new Query("doctor.session_time_zone", "SET TimeZone = 'UTC'"),
            new Query("doctor.session_application", "SET application_name = 'parley doctor'"));
    // Index builds wait for older transactions and may take hours: a timeout would leave an invalid index.
    private static final List<Query> FIX_SESSION = List.of(
            new Query("doctor.fix_statement_timeout", "SET statement_timeout = 0"),
            new Query("doctor.fix_lock_timeout", "SET lock_timeout = 0"));

    /**
     * What the audit is given: the session limits, the server's memory when SQL cannot find it out, and the
     * retention that partitions are held against when pg_partman does not say.
     */
    public record Options(SessionLimits limits, OptionalLong serverMemory, Optional<Period> retention) {
        public static final Options DEFAULTS = new Options(SessionLimits.DEFAULTS, OptionalLong.empty(), Optional.empty());
    }

    /** One fix statement as it ran: what it fixed, and the error if it failed. */
    public record Applied(Finding finding, String statement, Optional<String> error) {
    }

    private final Database database;
    private final Options options;

    public Doctor(Database database, Options options) {
        this.database = database;
        this.options = options;
    }

    /** Fails with an IllegalArgumentException naming the valid checks when {@code only} names one that does not exist. */
    public static void requireKnown(List<String> only) {
        Checks.select(only);
    }

    /**
     * Runs the checks {@code only} names (ids or groups; all when empty) and returns what they found.
     *
     * @throws IllegalArgumentException when {@code only} names no check
     */
    public Report audit(List<String> only) {
        List<Check> checks = Checks.select(only);
        return database.read(handle -> {
            for (Query q : SESSION) {
                handle.execute(q);
            }
            Server server = Server.read(handle);
            if (server.versionNumber() < Server.MINIMUM_VERSION) {
                throw new UnsupportedServer(server.version());
            }
            Inspection inspection = new Inspection(handle, server, Machine.detect(handle, server, options.serverMemory()),
                    options.limits(), options.retention());
            List<Finding> findings = new ArrayList<>();
            List<Note> skipped = new ArrayList<>();
            if (!server.superuser() && !server.monitor()) {
                skipped.add(new Note("doctor", "role " + server.user() + " is neither a superuser nor a member of pg_monitor: "
                        + "other roles' sessions and statements are hidden (GRANT pg_monitor TO " + server.user() + ")"));
            }
            for (Check check : checks) {
                inspection.running(check.id());
                try {
                    findings.addAll(check.run(inspection));
                } catch (Skipped e) {
                    skipped.add(new Note(check.id(), e.getMessage()));
                } catch (SQLException e) {
                    skipped.add(new Note(check.id(), failure(e)));
                }
            }
            findings.sort(Comparator.comparing(Finding::severity).reversed()
                    .thenComparing(f -> Checks.order(f.check())).thenComparing(Finding::object));
            return new Report(server, inspection.machine(), findings, skipped, inspection.limited());
        });
    }

    private static String failure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return switch (state) {
            case "42501" -> "not permitted for this role: " + e.getMessage().lines().findFirst().orElse("")
                    + " (GRANT pg_monitor, or run as the objects' owner)";
            case "57014" -> "stopped by the doctor's 30 s statement timeout: the catalogs or statistics are too large "
                    + "or the server is busy";
            case "55P03" -> "a lock held by another session kept the doctor waiting more than 2 s";
            default -> "failed (" + state + "): " + e.getMessage().lines().findFirst().orElse("");
        };
    }

    /** Runs the automatic fixes of {@code findings}, reporting each statement to {@code progress} before it runs. */
    public List<Applied> apply(List<Finding> findings, Consumer<String> progress) {
        return database.read(handle -> {
            for (Query q : FIX_SESSION) {
                handle.execute(q);
            }
            List<Applied> applied = new ArrayList<>();
            Set<String> done = new HashSet<>(); // two findings may want the same index (an FK's and a filter's)
            for (Finding finding : findings) {
                if (!finding.fix().automatic()) {
                    continue;
                }
                for (String sql : finding.fix().executable()) {
                    if (!done.add(sql)) {
                        continue;
                    }
                    progress.accept(sql);
                    Applied result = run(handle, finding, sql);
                    applied.add(result);
                    if (result.error().isPresent()) {
                        break; // the finding's later statements build on this one
                    }
                }
            }
            return applied;
        });
    }

    private static Applied run(Handle handle, Finding finding, String sql) {
        try (Statement statement = handle.connection().createStatement()) {
            statement.setEscapeProcessing(false);
            statement.execute(sql);
            return new Applied(finding, sql, Optional.empty());
        } catch (SQLException e) {
            return new Applied(finding, sql, Optional.of(e.getMessage()));
        }
    }
}
