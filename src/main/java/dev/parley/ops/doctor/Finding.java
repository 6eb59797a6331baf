package dev.parley.ops.doctor;

import java.util.Map;

/**
 * One problem: which check found it, how urgent it is, the object it is about (an index, a table,
 * a session, a setting), a one-line summary, the measurements that show it, and the SQL that fixes it.
 */
public record Finding(String check, Severity severity, String object, String summary, Map<String, Object> evidence,
                      Fix fix) {
    Finding(String check, Severity severity, String object, String summary, Evidence evidence, Fix fix) {
        this(check, severity, object, summary, evidence.values(), fix);
    }
}
