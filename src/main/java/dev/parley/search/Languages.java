package dev.parley.search;

import dev.parley.chat.InvalidInput;
import dev.parley.db.Database;
import dev.parley.db.Query;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The text-search configurations the database knows (english, french, simple ...), read once at
 * start, so a language is checked before it reaches SQL and a typo is a 400 that lists the choices.
 */
public final class Languages {
    public static final String DEFAULT = "english";

    static final Query LIST = new Query("search.languages", "SELECT cfgname FROM pg_ts_config");

    private final Set<String> names;

    Languages(Set<String> names) {
        this.names = Set.copyOf(names);
    }

    public static Languages load(Database database) {
        List<String> names = database.read(handle -> handle.list(LIST, row -> row.getString(1)));
        return new Languages(Set.copyOf(names));
    }

    /** {@code name} itself when the database has such a configuration; {@link #DEFAULT} when it is null. */
    public String require(String field, String name) {
        if (name == null) {
            return DEFAULT;
        }
        if (!names.contains(name)) {
            throw new InvalidInput(field, "is '" + abbreviated(name) + "', which is not a text-search language here; choose one of "
                    + String.join(", ", new TreeSet<>(names)));
        }
        return name;
    }

    private static String abbreviated(String name) {
        return name.length() <= 40 ? name : name.substring(0, 40) + "…";
    }
}
