package dev.parley.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Read replicas: where they are (PARLEY_REPLICA_URLS, comma-separated, each like DATABASE_URL), how far
 * behind one may be and still serve reads without a consistency token (PARLEY_REPLICA_MAX_LAG), and how
 * long a read with a token waits for a replica to replay past it before the primary answers instead
 * (PARLEY_REPLICA_WAIT). None by default: every read goes to the primary.
 */
public record Replication(List<DatabaseUrl> urls, Duration maxLag, Duration tokenWait, Duration sampleEvery) {
    static Replication resolve(SettingSource source) {
        List<DatabaseUrl> urls = new ArrayList<>();
        Set<String> places = new HashSet<>();
        for (String url : source.text(null, null, "PARLEY_REPLICA_URLS").orElse("").split(",")) {
            if (url.isBlank()) {
                continue;
            }
            DatabaseUrl replica = DatabaseUrl.parse(url.strip(), null, "PARLEY_REPLICA_URLS");
            // Two pools on one standby's database would halve its turns, and its metrics and log lines share one name.
            if (!places.add(replica.place())) {
                throw new InvalidSetting(null, "PARLEY_REPLICA_URLS", "names " + replica.place() + " twice (its host, port "
                        + "and database; the user aside): give each replica once");
            }
            urls.add(replica);
        }
        return new Replication(List.copyOf(urls),
                source.duration(null, null, "PARLEY_REPLICA_MAX_LAG", Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofHours(1)),
                source.duration(null, null, "PARLEY_REPLICA_WAIT", Duration.ofMillis(100), Duration.ZERO, Duration.ofSeconds(10)),
                source.duration(null, null, "PARLEY_REPLICA_SAMPLE", Duration.ofMillis(200), Duration.ofMillis(10), Duration.ofSeconds(10)));
    }

    @Override
    public String toString() {
        return urls.isEmpty() ? "none" : urls.stream().map(DatabaseUrl::masked).toList() + " (max lag " + Durations.format(maxLag)
                + ", token wait " + Durations.format(tokenWait) + ")";
    }
}
