package dev.parley.ops.doctor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The indexes Parley's own migrations make, read from this build's migration files (the ones Flyway applies), so a
 * new migration's index is known without a list to keep up to date. An index is Parley's when its name and table
 * match a {@code CREATE INDEX} that no later migration dropped: in {@code parley_archive} when the migration names
 * that schema, else in the schema that holds Parley's {@code parley_id_time(bigint)}. Parley's queries rely on
 * these (docs/operations.md names the query each serves), and later migrations drop and re-create some of them by
 * name, so the doctor must never propose dropping one; an index an operator added under another name is not Parley's.
 */
final class ParleyIndexes {
    static final String MIGRATIONS = "db/migration";

    private static final Pattern VERSION = Pattern.compile("V(\\d+)__.*\\.sql");
    private static final Pattern STATEMENT = Pattern.compile(
            "\\bCREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+(?:CONCURRENTLY\\s+)?(?:IF\\s+NOT\\s+EXISTS\\s+)?([\\w.]+)\\s+ON\\s+(?:ONLY\\s+)?([\\w.]+)"
                    + "|\\bDROP\\s+INDEX\\s+(?:CONCURRENTLY\\s+)?(?:IF\\s+EXISTS\\s+)?([\\w.]+)"
                    + "|\\bALTER\\s+INDEX\\s+(?:IF\\s+EXISTS\\s+)?([\\w.]+)\\s+RENAME\\s+TO\\s+(\\w+)",
            Pattern.CASE_INSENSITIVE);

    /** One index a migration made; {@code schema} is null when the migration left it to Parley's schema. */
    record Made(String schema, String table, String name, String migration) {
    }

    private static volatile ParleyIndexes ofThisBuild;

    private final Map<String, Made> byKey; // "schema.name", schema "" for Parley's own

    private ParleyIndexes(Map<String, Made> byKey) {
        this.byKey = byKey;
    }

    /** This build's migrations, read once. */
    static ParleyIndexes ofThisBuild() {
        if (ofThisBuild == null) {
            ofThisBuild = parse(readMigrations());
        }
        return ofThisBuild;
    }

    /** The indexes left after the migrations (file name to SQL) run in version order. */
    static ParleyIndexes parse(Map<String, String> migrations) {
        Map<String, Made> made = new LinkedHashMap<>();
        migrations.entrySet().stream().sorted(Comparator.comparingInt(e -> version(e.getKey()))).forEach(migration -> {
            Matcher m = STATEMENT.matcher(withoutComments(migration.getValue()));
            while (m.find()) {
                if (m.group(1) != null) {
                    // an index is made in its table's schema, whatever its own name says
                    Made index = new Made(schemaOf(m.group(2)), unqualified(m.group(2)), unqualified(m.group(1)),
                            migration.getKey().replaceFirst("\\.sql$", ""));
                    made.put(key(index.schema(), index.name()), index);
                } else if (m.group(3) != null) {
                    made.remove(key(schemaOf(m.group(3)), unqualified(m.group(3))));
                } else {
                    Made renamed = made.remove(key(schemaOf(m.group(4)), unqualified(m.group(4))));
                    if (renamed != null) {
                        made.put(key(renamed.schema(), m.group(5).toLowerCase(Locale.ROOT)),
                                new Made(renamed.schema(), renamed.table(), m.group(5).toLowerCase(Locale.ROOT), renamed.migration()));
                    }
                }
            }
        });
        return new ParleyIndexes(made);
    }

    /**
     * The migration that made index {@code name} on {@code table} in {@code schema}, if Parley's; {@code parleySchema}
     * says whether that schema holds Parley's functions (where its unqualified names land).
     */
    Optional<Made> madeBy(String schema, boolean parleySchema, String table, String name) {
        Made qualified = byKey.get(key(schema, name));
        Made unqualified = parleySchema ? byKey.get(key(null, name)) : null;
        return Stream.of(qualified, unqualified).filter(m -> m != null && m.table().equals(table)).findFirst();
    }

    List<Made> all() {
        return List.copyOf(byKey.values());
    }

    private static String key(String schema, String name) {
        return (schema == null ? "" : schema) + "." + name;
    }

    private static String schemaOf(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? null : name.substring(0, dot).toLowerCase(Locale.ROOT);
    }

    private static String unqualified(String name) {
        return name.substring(name.indexOf('.') + 1).toLowerCase(Locale.ROOT);
    }

    private static int version(String file) {
        Matcher m = VERSION.matcher(file);
        return m.matches() ? Integer.parseInt(m.group(1)) : Integer.MAX_VALUE;
    }

    private static String withoutComments(String sql) {
        return sql.replaceAll("--[^\\n]*", "");
    }

    /** The migration files on the class path: a directory when run from the build, entries when run from the jar. */
    private static Map<String, String> readMigrations() {
        URL location = ParleyIndexes.class.getClassLoader().getResource(MIGRATIONS);
        if (location == null) {
            throw new IllegalStateException(MIGRATIONS + " is not on the class path");
        }
        Map<String, String> files = new LinkedHashMap<>();
        try {
            if (location.getProtocol().equals("jar")) {
                JarURLConnection connection = (JarURLConnection) location.openConnection();
                connection.setUseCaches(false);
                try (JarFile jar = connection.getJarFile()) {
                    for (var entry : jar.stream().filter(e -> e.getName().startsWith(MIGRATIONS + "/")
                            && e.getName().endsWith(".sql")).toList()) {
                        try (InputStream in = jar.getInputStream(entry)) {
                            files.put(entry.getName().substring(MIGRATIONS.length() + 1),
                                    new String(in.readAllBytes(), StandardCharsets.UTF_8));
                        }
                    }
                }
            } else {
                try (Stream<Path> paths = Files.list(Path.of(location.toURI()))) {
                    for (Path p : paths.filter(p -> p.toString().endsWith(".sql")).toList()) {
                        files.put(p.getFileName().toString(), Files.readString(p));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading Parley's migrations from " + location, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (files.isEmpty()) {
            throw new IllegalStateException("no migration files under " + location);
        }
        return files;
    }
}
