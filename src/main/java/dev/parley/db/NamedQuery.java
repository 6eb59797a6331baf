package dev.parley.db;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Query} whose values are named in its text ({@code :user_id}) and bound once each by name, as
 * Jdbi's named parameters are: a statement that uses a value in several places takes it once, and a reader
 * checks each value against its name instead of counting question marks. PostgreSQL gets the same text as
 * before, each use a positional parameter, so its plans are the same too.
 *
 * <p>A name is a colon and lower_snake letters, not preceded by a colon or a letter ({@code ::tsquery} is a
 * cast) and not inside a quoted literal.
 */
public final class NamedQuery {
    private static final Pattern NAME = Pattern.compile("(?<![:\\w]):([a-z][a-z0-9_]*)");

    private final Query query;
    private final int uses; // how many placeholders
    private final Map<String, int[]> positions = new LinkedHashMap<>(); // each name's placeholders, names in order of first use

    private NamedQuery(Query query, List<String> uses) {
        this.query = query;
        this.uses = uses.size();
        for (int i = 0; i < uses.size(); i++) {
            int[] before = positions.getOrDefault(uses.get(i), new int[0]);
            int[] with = Arrays.copyOf(before, before.length + 1);
            with[before.length] = i;
            positions.put(uses.get(i), with);
        }
    }

    public Query query() {
        return query;
    }

    /** {@code sql} with each {@code :name} outside a quoted literal made a {@code ?}, the names kept in order of use. */
    public static NamedQuery of(String name, String sql) {
        var positional = new StringBuilder(sql.length());
        List<String> uses = new ArrayList<>();
        String[] quotedApart = sql.split("'", -1); // even pieces are outside literals, odd ones inside
        for (int i = 0; i < quotedApart.length; i++) {
            if (i > 0) {
                positional.append('\'');
            }
            if (i % 2 == 1) {
                positional.append(quotedApart[i]);
                continue;
            }
            Matcher named = NAME.matcher(quotedApart[i]);
            while (named.find()) {
                uses.add(named.group(1));
                named.appendReplacement(positional, "?");
            }
            named.appendTail(positional);
        }
        return new NamedQuery(new Query(name, positional.toString()), uses);
    }

    /** The names this statement takes, each once, in order of first use. */
    public List<String> names() {
        return List.copyOf(positions.keySet());
    }

    /** A binding that starts with {@code name}'s value. */
    public Binding bind(String name, Object value) {
        return new Binding(this).bind(name, value);
    }

    /** Values by name for one execution; every name the statement takes must be given, once, and no other. Used once. */
    public static final class Binding {
        private static final Object UNBOUND = new Object();
        private final NamedQuery statement;
        private final Object[] values; // at each use of a name, its value

        private Binding(NamedQuery statement) {
            this.statement = statement;
            this.values = new Object[statement.uses];
            Arrays.fill(values, UNBOUND);
        }

        public Binding bind(String name, Object value) {
            int[] at = statement.positions.get(name);
            if (at == null) {
                throw new IllegalArgumentException(statement.query.name() + " takes no :" + name);
            }
            if (values[at[0]] != UNBOUND) {
                throw new IllegalArgumentException(statement.query.name() + "'s :" + name + " is bound twice");
            }
            for (int position : at) {
                values[position] = value;
            }
            return this;
        }

        public Query query() {
            return statement.query;
        }

        /** The values in the order the statement's {@code ?} take them: each name's at every use. */
        public Object[] arguments() {
            for (var name : statement.positions.entrySet()) {
                if (values[name.getValue()[0]] == UNBOUND) {
                    throw new IllegalStateException(statement.query.name() + "'s :" + name.getKey() + " is not bound");
                }
            }
            return values;
        }
    }
}
