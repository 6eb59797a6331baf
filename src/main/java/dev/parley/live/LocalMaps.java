package dev.parley.live;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** {@link ExpiringMaps} in this instance's memory, with time from the {@link Ticker} it is given; at most {@code maxKeys} maps. */
public final class LocalMaps implements ExpiringMaps {
    /** A map and how long it is kept after its last write. */
    private record Kept(Map<String, String> fields, Duration keep) {
    }

    private final Cache<String, Kept> maps;

    public LocalMaps(long maxKeys, Ticker ticker) {
        this.maps = Caffeine.newBuilder()
                .maximumSize(maxKeys)
                .expireAfter(Expiry.writing((String key, Kept kept) -> kept.keep()))
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    @Override
    public void put(String key, Map<String, String> fields, Duration keep) {
        maps.asMap().compute(key, (k, kept) -> {
            Map<String, String> updated = kept == null ? new ConcurrentHashMap<>() : kept.fields();
            updated.putAll(fields);
            return new Kept(updated, keep);
        });
    }

    @Override
    public void remove(String key, String field) {
        maps.asMap().computeIfPresent(key, (k, kept) -> {
            kept.fields().remove(field);
            return kept.fields().isEmpty() ? null : kept;
        });
    }

    @Override
    public Map<String, String> get(String key) {
        Kept kept = maps.getIfPresent(key);
        return kept == null ? Map.of() : Map.copyOf(kept.fields());
    }
}
