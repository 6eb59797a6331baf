package dev.parley.apps;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.Invalidations;
import dev.parley.chat.InvalidInput;
import dev.parley.db.Database;
import dev.parley.db.Query;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The browser origins each app allows to read its answers (CORS), as {@code apps.allowed_origins}
 * stores them (V22). Every app's origins are held in one snapshot, loaded when first asked for and
 * again after a change is heard ({@link #forgetOnChange}), or after {@link #CACHE_TTL} at the latest.
 */
public final class Origins {
    static final Duration CACHE_TTL = Duration.ofSeconds(30);
    /** An app's origins at most: a list an operator reads at a glance. */
    public static final int MAX_PER_APP = 50;
    /** Longer than any real origin (a host name is at most 253 characters). */
    private static final int MAX_LENGTH = 300;

    static final Query ALL = new Query("app.allowed_origins", """
            SELECT app_id, allowed_origins FROM apps WHERE allowed_origins <> '{}'""");

    static final Query SET = new Query("app.set_allowed_origins", """
            UPDATE apps SET allowed_origins = ? WHERE app_id = ?""");

    /** Every app's origins, and all origins some app allows (what a preflight, which has no key, is checked against). */
    private record Snapshot(Map<Long, Set<String>> byApp, Set<String> anyApp) {
    }

    private static final String EVERY_APP = "every app"; // the snapshot's one key

    private final Database database;
    private final LoadingCache<String, Snapshot> snapshot;

    public Origins(Database database, Ticker ticker) {
        this.database = database;
        this.snapshot = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(CACHE_TTL).build(k -> load());
    }

    /** Drops the snapshot as soon as any app's origins change or an app is deleted, here or on another instance (V22). */
    public void forgetOnChange(Invalidations invalidations) {
        invalidations.subscribe("app_origins", id -> snapshot.invalidateAll(), snapshot::invalidateAll);
    }

    /** Whether pages from {@code origin} may read the answers to requests made with the app's keys. */
    public boolean allows(long appId, String origin) {
        return snapshot.get(EVERY_APP).byApp().getOrDefault(appId, Set.of()).contains(origin);
    }

    /** Whether some app allows {@code origin}. */
    public boolean anyAppAllows(String origin) {
        return snapshot.get(EVERY_APP).anyApp().contains(origin);
    }

    /** Replaces the app's origins (checked and written as browsers send them) and returns them; none allows no browser. */
    List<String> set(long appId, List<String> origins) {
        List<String> checked = checked(origins);
        database.read(handle -> handle.execute(SET, handle.array("text", checked.toArray()), appId));
        snapshot.invalidateAll(); // this instance at once; the others when they hear of it
        return checked;
    }

    /**
     * The origins as browsers send them in the {@code Origin} header: scheme, host and port, lower case,
     * without the scheme's default port or a trailing slash; each once. InvalidInput for anything else,
     * before anything touches the database.
     */
    public static List<String> checked(List<String> origins) {
        if (origins == null) {
            throw new InvalidInput("origins", "is required: a list of origins such as [\"https://app.example.com\"], or [] for none");
        }
        var checked = new LinkedHashSet<String>();
        for (int i = 0; i < origins.size(); i++) {
            checked.add(origin(origins.get(i), "origins[" + i + "]"));
        }
        if (checked.size() > MAX_PER_APP) {
            throw new InvalidInput("origins", "has " + checked.size() + " origins; an app allows at most " + MAX_PER_APP);
        }
        return List.copyOf(checked);
    }

    private static String origin(String given, String field) {
        URI uri = given == null || given.length() > MAX_LENGTH ? null : parse(given.strip());
        String scheme = uri == null || uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean bare = uri != null && uri.getRawUserInfo() == null && uri.getRawQuery() == null && uri.getRawFragment() == null
                && (uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"));
        if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null || !bare) {
            throw new InvalidInput(field, "must be an origin, http(s)://host or http(s)://host:port with nothing after it "
                    + "and no wildcard, such as https://app.example.com; got " + (given == null ? "null" : "'" + given + "'"));
        }
        int port = uri.getPort();
        boolean defaultPort = port == -1 || port == (scheme.equals("https") ? 443 : 80);
        return scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port);
    }

    private static URI parse(String text) {
        try {
            return new URI(text);
        } catch (URISyntaxException e) {
            return null; // said by the caller, with the field's name
        }
    }

    private Snapshot load() {
        Map<Long, Set<String>> byApp = database.read(handle -> handle.list(ALL, row -> Map.entry(row.getLong(1),
                        Set.copyOf(Arrays.asList((String[]) row.getArray(2).getArray())))))
                .stream().collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, Map.Entry::getValue));
        Set<String> anyApp = byApp.values().stream().flatMap(Set::stream).collect(Collectors.toUnmodifiableSet());
        return new Snapshot(byApp, anyApp);
    }
}
