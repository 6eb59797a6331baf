package dev.parley.ops.doctor;

import dev.parley.ops.doctor.Workload.Scan;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The statements behind a workload finding, heaviest first, as evidence: text, calls, mean time and the plan's filter. */
final class StatementEvidence {
    static final int SHOWN = 3;

    private StatementEvidence() {
    }

    static List<Map<String, Object>> of(Collection<Scan> scans) {
        Map<Workload.Statement, Scan> firstScan = new LinkedHashMap<>();
        scans.forEach(scan -> firstScan.putIfAbsent(scan.statement(), scan));
        return firstScan.values().stream()
                .sorted(Comparator.comparingDouble((Scan s) -> s.statement().totalMillis()).reversed())
                .limit(SHOWN)
                .map(scan -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("query", scan.statement().shortText());
                    m.put("calls", scan.statement().calls());
                    m.put("mean_ms", Math.round(scan.statement().meanMillis() * 100) / 100.0);
                    m.put("plan_filter", scan.filter());
                    return m;
                }).toList();
    }
}
