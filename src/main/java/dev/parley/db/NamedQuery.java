package dev.parley.db;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
public record NamedQuery(Query query, List<String> uses) {
    private static final Pattern NAME = Pattern.compile("(?<![:\\w]):([a-z][a-z0-9_]*)");

    public NamedQuery {
        uses = List.copyOf(uses);
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

    /** The names this statement takes, each once. */
    public Set<String> names() {
        return new LinkedHashSet<>(uses);
    }

    /** A binding that starts with {@code name}'s value. */
    public Binding bind(String name, Object value) {
        return new Binding(this).bind(name, value);
    }

    /** Values by name for one execution; every name the statement takes must be given, and no other. */
    public static final class Binding {
        private final NamedQuery statement;
        private final Map<String, Object> values = new HashMap<>();

        private Binding(NamedQuery statement) {
            this.statement = statement;
        }

        public Binding bind(String name, Object value) {
            if (!statement.uses.contains(name)) {
                throw new IllegalArgumentException(statement.query.name() + " takes no :" + name);
            }
            if (values.containsKey(name)) {
                throw new IllegalArgumentException(statement.query.name() + "'s :" + name + " is bound twice");
            }
            values.put(name, value);
            return this;
        }

        public Query query() {
            return statement.query;
        }

        /** The values in the order the statement's {@code ?} take them: each name's at every use. */
        public Object[] arguments() {
            Object[] arguments = new Object[statement.uses.size()];
            for (int i = 0; i < arguments.length; i++) {
                String name = statement.uses.get(i);
                if (!values.containsKey(name)) {
                    throw new IllegalStateException(statement.query.name() + "'s :" + name + " is not bound");
                }
                arguments[i] = values.get(name);
            }
            return arguments;
        }
    }
}
