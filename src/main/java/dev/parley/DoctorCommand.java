package dev.parley;

import dev.parley.config.Ages;
import dev.parley.config.DatabaseUrl;
import dev.parley.config.InvalidSetting;
import dev.parley.config.Passwords;
import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.PostgresDidNotStart;
import dev.parley.json.Json;
import dev.parley.ops.doctor.Doctor;
import dev.parley.ops.doctor.Finding;
import dev.parley.ops.doctor.Report;
import dev.parley.ops.doctor.SessionLimits;
import dev.parley.ops.doctor.Severity;
import dev.parley.ops.doctor.UnsupportedServer;
import java.io.Console;
import java.io.PrintWriter;
import java.time.Period;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "doctor", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Audit a PostgreSQL 15+ database (Parley's or any other) and print each finding with its evidence "
                + "and the SQL that fixes it: indexes, missing indexes, vacuum and statistics, sessions and locks, "
                + "replication, sequences, partitions and settings. Checks and thresholds: docs/doctor.md.",
                "Exit status: 0 when no finding is at or above --min-severity, 1 when one is, 2 for bad usage, "
                        + "69 when it could not audit (the server unreachable, a login refused, PostgreSQL older than 15)."})
final class DoctorCommand implements Callable<Integer> {
    /**
     * EX_UNAVAILABLE: nothing was audited. Not 1, which says the database has problems: a script must tell a
     * database with findings from a doctor that never saw it.
     */
    static final int COULD_NOT_AUDIT = 69;

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(kb|mb|gb|tb|k|m|g|t)?");

    @Spec
    CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL",
            description = "The database to audit, postgres://user:pass@host:5432/db; same as --database-url "
                    + "(env DATABASE_URL), and refused beside a --database-url that differs. "
                    + "Default: Parley's embedded PostgreSQL.")
    String url;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--json", description = "Print the report as JSON (stable field names; see docs/doctor.md).")
    boolean json;

    @Option(names = "--only", split = ",", paramLabel = "CHECK",
            description = "Run only these checks: ids such as index.duplicate, or groups: index, query, vacuum, runtime, "
                    + "partition, settings.")
    List<String> only = List.of();

    @Option(names = "--min-severity", paramLabel = "LEVEL", defaultValue = "warning",
            description = "info, warning or critical: the lowest severity shown and counted in the exit status "
                    + "(default: ${DEFAULT-VALUE}).")
    String minSeverity;

    @Option(names = "--fix", description = "After the report, apply the automatic fixes (CREATE/DROP/REINDEX INDEX "
            + "CONCURRENTLY, ANALYZE, VACUUM) of the findings shown, one statement at a time, outside any transaction, "
            + "after asking.")
    boolean fix;

    @Option(names = "--yes", description = "With --fix: apply without asking.")
    boolean yes;

    @Option(names = "--server-memory", paramLabel = "SIZE",
            description = "The database server's RAM (e.g. 16GB), for the memory settings checks when the doctor cannot "
                    + "read it from the server.")
    String serverMemory;

    @Option(names = "--retention", paramLabel = "AGE",
            description = "Keep time partitions this long (e.g. 90d, 12w, 6mo, 1y): older ones are reported. "
                    + "pg_partman's part_config.retention is used where set.")
    String retention;

    @Override
    public Integer call() {
        Severity min;
        try {
            min = Severity.parse(minSeverity);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--min-severity: " + e.getMessage());
        }
        if (yes && !fix) {
            throw new ParameterException(spec.commandLine(), "--yes only goes with --fix");
        }
        if (fix && json) {
            throw new ParameterException(spec.commandLine(), "--fix is for a person at a terminal; use it without --json");
        }
        try {
            Doctor.requireKnown(only);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (url != null && database.databaseUrl != null && !url.equals(database.databaseUrl)) {
            // Either would be a guess at which database the operator meant; the same URL twice is no such guess.
            throw new ParameterException(spec.commandLine(), "--url and --database-url both name the database to audit, "
                    + "and they differ: give one of them");
        }
        if (url != null) {
            try {
                DatabaseUrl.parse(url, "--url", null); // named as given: --database-url is checked as itself
            } catch (InvalidSetting e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        var options = new Doctor.Options(SessionLimits.DEFAULTS, memory(), retention());
        Settings settings = Settings.resolve(Settings.Flags.database(url != null ? url : database.databaseUrl,
                database.dataDir, database.embeddedPort), System.getenv());
        PrintWriter out = spec.commandLine().getOut();
        try (Storage storage = Storage.forCommand(settings);
             Database database = storage.connect()) {
            var doctor = new Doctor(database, options);
            Report report = doctor.audit(only);
            if (json) {
                out.println(report.json(min));
                return report.failsAt(min) ? Main.FAILED : 0;
            }
            report.print(out, min);
            return fix ? applyFixes(doctor, report, min, out) : report.failsAt(min) ? Main.FAILED : 0;
        } catch (DatabaseUnavailable | PostgresDidNotStart | UnsupportedServer | Storage.NoDatabase e) {
            return couldNotAudit(e.getMessage(), out);
        }
    }

    /** Says why nothing was audited, on stderr and, with --json, as a JSON object on stdout for the script reading it. */
    private int couldNotAudit(String reason, PrintWriter out) {
        String said = Passwords.hiddenIn(String.valueOf(reason));
        spec.commandLine().getErr().println("parley: could not audit: " + said);
        if (json) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("format", Report.JSON_FORMAT);
            error.put("error", said);
            out.println(Json.write(error));
        }
        return COULD_NOT_AUDIT;
    }

    private int applyFixes(Doctor doctor, Report report, Severity min, PrintWriter out) {
        List<Finding> fixable = report.automaticFixes(min);
        if (fixable.isEmpty()) {
            out.println("No finding shown has an automatic fix.");
            return report.failsAt(min) ? Main.FAILED : 0;
        }
        out.println();
        out.println("--fix runs these statements one at a time, outside any transaction:");
        fixable.forEach(f -> f.fix().executable().forEach(sql -> out.println("  " + sql)));
        long holders = report.findings().stream().filter(f -> f.check().equals("runtime.idle_in_transaction")
                || f.check().equals("runtime.long_running")).count();
        if (holders > 0) {
            out.println("Note: " + holders + " session(s) hold old transactions (see runtime.*): a concurrent index build "
                    + "or drop waits until they end.");
        }
        if (!yes && !confirmed(out)) {
            out.println("Nothing was changed.");
            return report.failsAt(min) ? Main.FAILED : 0;
        }
        var applied = doctor.apply(fixable, sql -> out.println("running: " + sql));
        long failed = applied.stream().filter(a -> a.error().isPresent()).peek(a ->
                out.println("failed: " + a.statement() + "\n  " + a.error().get())).count();
        out.println((applied.size() - failed) + " statement(s) applied, " + failed + " failed. Checking again...");
        Report after = doctor.audit(only);
        out.println(after.count(Severity.CRITICAL) + " critical, " + after.count(Severity.WARNING) + " warning, "
                + after.count(Severity.INFO) + " info remain.");
        return failed > 0 || after.failsAt(min) ? Main.FAILED : 0;
    }

    private boolean confirmed(PrintWriter out) {
        Console console = System.console();
        if (console == null) {
            throw new ParameterException(spec.commandLine(),
                    "--fix asks for confirmation on a terminal, and there is none: pass --yes to apply without asking");
        }
        out.flush();
        String answer = console.readLine("Apply them? [y/N] ");
        return answer != null && answer.strip().toLowerCase(Locale.ROOT).startsWith("y");
    }

    private OptionalLong memory() {
        if (serverMemory == null) {
            return OptionalLong.empty();
        }
        Matcher m = SIZE.matcher(serverMemory.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new ParameterException(spec.commandLine(), "--server-memory must be a size such as 16GB or 512MB, got '"
                    + serverMemory + "'");
        }
        int shift = switch (m.group(2) == null ? "" : m.group(2).substring(0, 1)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        long amount;
        try {
            amount = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            amount = Long.MAX_VALUE; // more digits than a long holds: refused below as too large
        }
        if (amount == 0 || amount > Long.MAX_VALUE >> shift) {
            throw new ParameterException(spec.commandLine(), "--server-memory must be a size above 0 and below 8 EB, got '"
                    + serverMemory + "'");
        }
        return OptionalLong.of(amount << shift);
    }

    private Optional<Period> retention() {
        if (retention == null) {
            return Optional.empty();
        }
        try { // as archive and retention read an age, so that one value means one thing to every command
            return Optional.of(Ages.parse(retention.toLowerCase(Locale.ROOT).replaceAll("\\s+", "")));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--retention: " + e.getMessage());
        }
    }
}
