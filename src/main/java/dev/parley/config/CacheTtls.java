package dev.parley.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long each kind of cached read lives, from PARLEY_CACHE_TTL ("character=30m,inbox=30s"); the
 * defaults are the seeds': a character's profile 30 minutes, a user's 15, a conversation and its
 * history 5, an inbox page 30 seconds (its unread counts).
 */
public record CacheTtls(Duration character, Duration user, Duration conversation, Duration inbox) {
    public static final CacheTtls DEFAULTS = new CacheTtls(Duration.ofMinutes(30), Duration.ofMinutes(15),
            Duration.ofMinutes(5), Duration.ofSeconds(30));
    private static final Duration LONGEST = Duration.ofDays(1);

    /** The defaults, with the kinds {@code text} names replaced; an IllegalArgumentException says what is wrong. */
    static CacheTtls parse(String text) {
        Map<String, Duration> ttls = new LinkedHashMap<>(Map.of("character", DEFAULTS.character, "user", DEFAULTS.user,
                "conversation", DEFAULTS.conversation, "inbox", DEFAULTS.inbox));
        for (String item : text.split(",")) {
            String[] pair = item.strip().split("=", 2);
            if (pair.length != 2 || !ttls.containsKey(pair[0].strip())) {
                throw new IllegalArgumentException("expected kind=duration with kind one of " + ttls.keySet()
                        + ", got '" + item.strip() + "'");
            }
            Duration ttl = Durations.parse(pair[1]);
            if (ttl.isZero() || ttl.compareTo(LONGEST) > 0) {
                throw new IllegalArgumentException(pair[0].strip() + " must live between 1ms and 24h, got '" + pair[1].strip() + "'");
            }
            ttls.put(pair[0].strip(), ttl);
        }
        return new CacheTtls(ttls.get("character"), ttls.get("user"), ttls.get("conversation"), ttls.get("inbox"));
    }

    /** "character=30m, user=15m, conversation=5m, inbox=30s". */
    @Override
    public String toString() {
        return "character=" + Durations.format(character) + ", user=" + Durations.format(user) + ", conversation="
                + Durations.format(conversation) + ", inbox=" + Durations.format(inbox);
    }
}
