package dev.parley.ops.doctor;

import java.util.List;

/**
 * The SQL that removes a finding, one statement per entry, run in order and never inside a
 * transaction. {@code automatic} fixes are the ones {@code --fix} applies: concurrent index builds
 * and drops, ANALYZE and plain VACUUM, which neither lose data nor block writes. Lines starting with
 * {@code --} are guidance for a human and are not executed.
 */
public record Fix(List<String> statements, boolean automatic) {
    public Fix {
        statements = List.copyOf(statements);
    }

    static Fix automatic(String... statements) {
        return new Fix(List.of(statements), true);
    }

    static Fix manual(String... statements) {
        return new Fix(List.of(statements), false);
    }

    static Fix manual(List<String> statements) {
        return new Fix(statements, false);
    }

    static Fix none() {
        return new Fix(List.of(), false);
    }

    /** The statements a machine can run: the guidance lines left out. */
    public List<String> executable() {
        return statements.stream().filter(s -> !s.startsWith("--")).toList();
    }
}
