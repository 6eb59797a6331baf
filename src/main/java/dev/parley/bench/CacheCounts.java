package dev.parley.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hits and misses per cache, from Parley's {@code parley.cache.requests} counters (tags {@code cache} and
 * {@code result}); empty when the server publishes none (a build without the cache tier, or the cache off).
 */
record CacheCounts(Map<String, Counts> byCache) {
    static final CacheCounts NONE = new CacheCounts(Map.of());
    /** The counters' name in Prometheus' text format: {@code parley.cache.requests} as Micrometer exports it. */
    static final String METRIC = "parley_cache_requests_total";
    private static final Pattern SAMPLE = Pattern.compile("^" + METRIC + "\\{([^}]*)}\\s+(\\S+)", Pattern.MULTILINE);
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One cache's requests in a period. */
    record Counts(long hits, long misses) {
        long requests() {
            return hits + misses;
        }

        /** Hits as a share of requests, 0 to 1; 0 when there were none. */
        double hitRate() {
            return requests() == 0 ? 0 : (double) hits / requests();
        }
    }

    /** The counters in a {@code /metrics} scrape. */
    static CacheCounts fromPrometheus(String scrape) {
        Map<String, Counts> byCache = new TreeMap<>();
        Matcher sample = SAMPLE.matcher(scrape);
        while (sample.find()) {
            String cache = null;
            String result = null;
            Matcher label = LABEL.matcher(sample.group(1));
            while (label.find()) {
                switch (label.group(1)) {
                    case "cache" -> cache = label.group(2);
                    case "result" -> result = label.group(2);
                    default -> { }
                }
            }
            long count = (long) Double.parseDouble(sample.group(2));
            if (cache != null && ("hit".equals(result) || "miss".equals(result))) {
                byCache.merge(cache, "hit".equals(result) ? new Counts(count, 0) : new Counts(0, count),
                        (a, b) -> new Counts(a.hits() + b.hits(), a.misses() + b.misses()));
            }
        }
        return new CacheCounts(byCache);
    }

    /** What was counted between {@code earlier} and these counts. */
    CacheCounts since(CacheCounts earlier) {
        Map<String, Counts> delta = new TreeMap<>();
        byCache.forEach((cache, now) -> {
            Counts then = earlier.byCache().getOrDefault(cache, new Counts(0, 0));
            delta.put(cache, new Counts(now.hits() - then.hits(), now.misses() - then.misses()));
        });
        return new CacheCounts(delta);
    }

    boolean isEmpty() {
        return byCache.isEmpty();
    }
}
