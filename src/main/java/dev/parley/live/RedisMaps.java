package dev.parley.live;

import dev.parley.redis.Redis;
import dev.parley.redis.Script;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ExpiringMaps} in Redis, shared by every instance: one hash per key, with the key's time to
 * live renewed by each write. While Redis is not used (down, or the circuit open) they fall back to
 * this instance's own {@link LocalMaps}, so typing and presence keep working, each instance seeing
 * its own; what was written there is not carried over when Redis is back (it lives seconds).
 */
public final class RedisMaps implements ExpiringMaps {
    /** KEYS: the hash. ARGV: milliseconds to keep it, then field, value pairs. The write and its lifetime, at once. */
    private static final Script PUT = Script.of("""
            redis.call('HSET', KEYS[1], unpack(ARGV, 2))
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            return 1
            """);

    private final Redis redis;
    private final String prefix;
    private final LocalMaps fallback;

    public RedisMaps(Redis redis, String prefix, LocalMaps fallback) {
        this.redis = redis;
        this.prefix = prefix;
        this.fallback = fallback;
    }

    @Override
    public void put(String key, Map<String, String> fields, Duration keep) {
        List<byte[]> args = new ArrayList<>(List.of(Script.arg(keep.toMillis())));
        fields.forEach((field, value) -> {
            args.add(Script.arg(field));
            args.add(Script.arg(value));
        });
        if (redis.run("maps.put", commands -> PUT.run(commands, ScriptOutputType.INTEGER, new String[] {prefix + key},
                args.toArray(byte[][]::new))).isEmpty()) {
            fallback.put(key, fields, keep);
        }
    }

    @Override
    public void remove(String key, String field) {
        if (redis.run("maps.remove", commands -> commands.hdel(prefix + key, field)).isEmpty()) {
            fallback.remove(key, field);
        }
    }

    @Override
    public Map<String, String> get(String key) {
        return redis.run("maps.get", commands -> commands.hgetall(prefix + key))
                .map(RedisMaps::text)
                .orElseGet(() -> fallback.get(key));
    }

    private static Map<String, String> text(Map<String, byte[]> hash) {
        Map<String, String> text = new LinkedHashMap<>();
        hash.forEach((field, value) -> text.put(field, new String(value, StandardCharsets.UTF_8)));
        return text;
    }
}
