package dev.parley.ops.doctor;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** The report for people: findings grouped by severity, each with its evidence and fix, then what was skipped. */
final class ReportText {
    private final Report report;
    private final Severity min;

    ReportText(Report report, Severity min) {
        this.report = report;
        this.min = min;
    }

    void print(PrintWriter out) {
        header(out);
        for (Severity severity : List.of(Severity.CRITICAL, Severity.WARNING, Severity.INFO)) {
            List<Finding> group = report.atLeast(min).stream().filter(f -> f.severity() == severity).toList();
            if (!group.isEmpty()) {
                out.println();
                out.println(severity.name() + " (" + group.size() + ")");
                group.forEach(f -> finding(out, f));
            }
        }
        notes(out, "Skipped checks", report.skipped());
        notes(out, "Partial results", report.limited());
        out.println();
        out.println(summary());
        out.flush();
    }

    private void header(PrintWriter out) {
        Server s = report.server();
        out.println("parley doctor: PostgreSQL " + s.version() + ", database " + s.database() + ", role " + s.user()
                + (s.superuser() ? " (superuser)" : s.monitor() ? " (pg_monitor)" : "") + (s.inRecovery() ? ", standby" : ""));
        out.println("usage statistics " + s.statsDescription());
        out.println("machine memory " + report.machine().map(m -> Pretty.bytes(m.memoryBytes()) + " (" + m.source() + ")")
                .orElse("unknown"));
    }

    private static void finding(PrintWriter out, Finding f) {
        out.println();
        out.println("  " + f.check() + "  " + f.object());
        out.println("    " + f.summary());
        f.evidence().forEach((name, value) -> evidence(out, name, value));
        if (!f.fix().statements().isEmpty()) {
            out.println("    fix" + (f.fix().automatic() ? " (applied by --fix)" : "") + ":");
            f.fix().statements().forEach(sql -> out.println("      " + sql));
        }
    }

    private static void evidence(PrintWriter out, String name, Object value) {
        if (value instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map<?, ?>) {
            out.println("      " + name + ":");
            for (Object item : list) {
                Map<?, ?> m = (Map<?, ?>) item;
                out.println("        - " + String.join(", ", m.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()));
            }
        } else {
            out.println("      " + name + ": " + value);
        }
    }

    private static void notes(PrintWriter out, String title, List<Note> notes) {
        if (notes.isEmpty()) {
            return;
        }
        out.println();
        out.println(title + ":");
        notes.forEach(n -> out.println("  " + n.check() + ": " + n.reason()));
    }

    private String summary() {
        int hidden = report.findings().size() - report.atLeast(min).size();
        int fixes = report.automaticFixes(min).size();
        return report.count(Severity.CRITICAL) + " critical, " + report.count(Severity.WARNING) + " warning, "
                + report.count(Severity.INFO) + " info"
                + (hidden > 0 ? " (" + hidden + " below " + min.label() + " not shown; --min-severity info shows them)" : "")
                + (fixes > 0 ? ". --fix applies " + fixes + " of the fixes (index builds and drops, ANALYZE, VACUUM)" : "")
                + ".";
    }
}
