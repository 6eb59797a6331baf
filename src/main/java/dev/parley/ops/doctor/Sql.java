package dev.parley.ops.doctor;

/** Quoting for the names and values the doctor writes into the fix SQL it prints. */
final class Sql {
    private Sql() {
    }

    /** An identifier as PostgreSQL's quote_ident writes it: bare when it is plain lower case, else in double quotes. */
    static String ident(String name) {
        return name.matches("[a-z_][a-z0-9_]*") ? name : '"' + name.replace("\"", "\"\"") + '"';
    }

    static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }
}
