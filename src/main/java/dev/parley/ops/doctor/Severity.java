package dev.parley.ops.doctor;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;

/** How urgent a finding is. {@code --min-severity} picks the lowest one shown and counted in the exit status. */
public enum Severity {
    /** Worth knowing; no harm yet. */
    INFO,
    /** Costs performance or will cause trouble; fix it. */
    WARNING,
    /** Data loss, an outage or a failing write is near. */
    CRITICAL;

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Severity parse(String text) {
        return Arrays.stream(values()).filter(s -> s.label().equalsIgnoreCase(text.strip())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("severity must be info, warning or critical, got '" + text + "'"));
    }
}
