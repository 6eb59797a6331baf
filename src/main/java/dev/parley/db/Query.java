package dev.parley.db;

/**
 * One SQL statement with a stable name. The name labels its latency metric and its slow-query
 * log lines, and leads its text as a comment, so pg_stat_statements and pg_stat_activity show
 * which of Parley's statements each row is: an operator goes from any of them straight to the code.
 */
public record Query(String name, String sql) {
    public Query {
        if (!name.matches("[a-z][a-z0-9_.]*")) {
            throw new IllegalArgumentException("query names are lower_snake.case, got " + name);
        }
        sql = "/* " + name + " */ " + sql.strip();
    }

    /** The text with its {@code ?} placeholders numbered as PREPARE takes them, and how many there are. */
    public record Numbered(String sql, int parameters) {
    }

    /** This statement as PREPARE takes it: each {@code ?} outside a quoted literal becomes {@code $1}, {@code $2}, ... */
    public Numbered numbered() {
        var numbered = new StringBuilder(sql.length() + 16);
        int parameters = 0;
        boolean quoted = false;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\'') {
                quoted = !quoted;
            }
            if (c == '?' && !quoted) {
                numbered.append('$').append(++parameters);
            } else {
                numbered.append(c);
            }
        }
        return new Numbered(numbered.toString(), parameters);
    }

    /**
     * "{@code <path>.generic_plans}": the rest of its transaction runs on generic plans. A statement over the
     * partitioned messages with its bounds as parameters gets a custom plan at every call otherwise: the
     * generic one, costed over every month, never looks cheaper, though it prunes the months at start as well.
     * In the same round trip it names the transaction's origin for the change notices its triggers send (V25;
     * its one parameter: {@code ReadCache.Changing#origin}, "" for none).
     */
    public static Query genericPlansFrom(String path) {
        return new Query(path + ".generic_plans", """
                SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('parley.origin', ?, true)""");
    }
}
