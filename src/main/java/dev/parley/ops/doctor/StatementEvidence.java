package dev.parley.ops.doctor;

import dev.parley.ops.doctor.Workload.Scan;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The statements behind a workload finding, heaviest first, as evidence: text, calls and mean time. */
final class StatementEvidence {
    static final int SHOWN = 3;

    private StatementEvidence() {
    }

    static List<Map<String, Object>> of(Collection<Scan> scans) {
        return scans.stream().map(Scan::statement).distinct()
                .sorted(Comparator.comparingDouble(Workload.Statement::totalMillis).reversed())
                .limit(SHOWN)
                .map(s -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("query", s.shortText());
                    m.put("calls", s.calls());
                    m.put("mean_ms", Math.round(s.meanMillis() * 100) / 100.0);
                    return m;
                }).toList();
    }
}
