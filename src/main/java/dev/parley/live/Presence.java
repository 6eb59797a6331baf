package dev.parley.live;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.Users;
import dev.parley.json.Nullable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * Whether a user is online, and when they were last seen. A client says "online" (a heartbeat) at
 * least every {@code ttl} (PARLEY_PRESENCE_TTL) while the user is there, and "offline" when they
 * leave; without a heartbeat the user goes offline by themselves. Kept in {@link ExpiringMaps}, never in
 * PostgreSQL, for {@link #LAST_SEEN_KEPT} after the last word; the {@link Clock} decides who is online.
 */
public final class Presence {
    /** How long "last seen" is remembered: state of no importance, kept short so memory stays small. */
    static final Duration LAST_SEEN_KEPT = Duration.ofDays(7);

    public static final String ONLINE = "online";
    public static final String OFFLINE = "offline";

    /** A user's presence, online or offline; {@code lastSeenAt} is null for a user not seen within {@link #LAST_SEEN_KEPT}. */
    public record Seen(@JsonFormat(shape = JsonFormat.Shape.STRING) long userId, String status, @Nullable Instant lastSeenAt) {
        Seen(long userId, boolean online, Instant lastSeenAt) {
            this(userId, online ? ONLINE : OFFLINE, lastSeenAt);
        }
    }

    private final ExpiringMaps maps;
    private final Users users;
    private final Duration ttl;
    private final Clock clock;

    public Presence(ExpiringMaps maps, Users users, Duration ttl, Clock clock) {
        this.maps = maps;
        this.users = users;
        this.ttl = ttl;
        this.clock = clock;
    }

    /** The user is here now, and online for {@code ttl} unless told again; or has left ({@code online} false). */
    public Seen mark(long appId, long userId, boolean online) {
        users.get(appId, userId); // NotFound for a user of no app of this key
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS); // as it reads back
        Instant onlineUntil = online ? now.plus(ttl) : now;
        maps.put(key(appId, userId), Map.of("last_seen", millis(now), "online_until", millis(onlineUntil)), LAST_SEEN_KEPT);
        return new Seen(userId, online, now);
    }

    public Seen of(long appId, long userId) {
        users.get(appId, userId);
        Map<String, String> seen = maps.get(key(appId, userId));
        Instant now = clock.instant();
        Instant lastSeen = ExpiringMaps.instantOf(seen.get("last_seen"));
        Instant onlineUntil = ExpiringMaps.instantOf(seen.get("online_until"));
        if (lastSeen == null || onlineUntil == null || lastSeen.plus(LAST_SEEN_KEPT).isBefore(now)) { // unread: not seen
            return new Seen(userId, false, null);
        }
        return new Seen(userId, onlineUntil.isAfter(now), lastSeen);
    }

    /** Forgets the user's presence (an erased user): from Redis, or from this instance when presence is kept locally. */
    public void forget(long appId, long userId) {
        maps.remove(key(appId, userId), "last_seen");
        maps.remove(key(appId, userId), "online_until");
    }

    private static String millis(Instant instant) {
        return String.valueOf(instant.toEpochMilli());
    }

    private static String key(long appId, long userId) {
        return "presence:" + appId + ":" + userId;
    }
}
