package dev.parley.ops.doctor;

import dev.parley.json.Json;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What an audit found, sorted most urgent first, with the checks it skipped and the ones that could
 * see only part of what they look at. The exit status a command derives from it is 1 when any finding
 * is at or above the chosen severity.
 */
public record Report(Server server, Optional<Machine> machine, List<Finding> findings, List<Note> skipped,
                     List<Note> limited) {
    /** Bumped only when the JSON changes incompatibly: fields are added, never renamed or removed. */
    public static final int JSON_FORMAT = 1;

    public List<Finding> atLeast(Severity min) {
        return findings.stream().filter(f -> f.severity().compareTo(min) >= 0).toList();
    }

    public boolean failsAt(Severity min) {
        return !atLeast(min).isEmpty();
    }

    public long count(Severity severity) {
        return findings.stream().filter(f -> f.severity() == severity).count();
    }

    /** The findings at or above {@code min} whose fix --fix would apply. */
    public List<Finding> automaticFixes(Severity min) {
        return atLeast(min).stream().filter(f -> f.fix().automatic() && !f.fix().executable().isEmpty()).toList();
    }

    public void print(PrintWriter out, Severity min) {
        new ReportText(this, min).print(out);
    }

    /** The report for machines: stable field names, every finding at or above {@code min}, counts of all. */
    public String json(Severity min) {
        Map<String, Object> serverFields = new LinkedHashMap<>();
        serverFields.put("version", server.version());
        serverFields.put("database", server.database());
        serverFields.put("user", server.user());
        serverFields.put("superuser", server.superuser());
        serverFields.put("pg_monitor", server.monitor());
        serverFields.put("in_recovery", server.inRecovery());
        serverFields.put("checked_at", server.now().toString());
        serverFields.put("statistics_since", server.statsSince().toString());
        serverFields.put("statistics_reset", server.statsReset());
        serverFields.put("machine_memory_bytes", machine.map(Machine::memoryBytes).orElse(null));
        serverFields.put("machine_memory_source", machine.map(Machine::source).orElse(null));
        Map<String, Object> counts = new LinkedHashMap<>();
        for (Severity s : List.of(Severity.CRITICAL, Severity.WARNING, Severity.INFO)) {
            counts.put(s.label(), count(s));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", JSON_FORMAT);
        root.put("server", serverFields);
        root.put("min_severity", min.label());
        root.put("counts", counts);
        root.put("findings", atLeast(min));
        root.put("not_shown_below_min_severity", findings.size() - atLeast(min).size());
        root.put("skipped", skipped);
        root.put("limited", limited);
        return Json.write(root);
    }
}
