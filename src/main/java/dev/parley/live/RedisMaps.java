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
    // A key that holds no hash was put there by another program (Parley writes only hashes under its prefix): read as
    // none, and replaced by the next write. Redis's WRONGTYPE would open the circuit as if Redis were down, and again
    // on each use of the key, emptying the shared views of every instance each time.

    /** KEYS: the hash. ARGV: milliseconds to keep it, then field, value pairs. The write and its lifetime, at once. */
    private static final Script PUT = Script.of("""
            if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then redis.call('DEL', KEYS[1]) end
            redis.call('HSET', KEYS[1], unpack(ARGV, 2))
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            return 1
            """);
    /** KEYS: the hash. ARGV: the field. */
    private static final Script REMOVE = Script.of("""
            if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
            return redis.call('HDEL', KEYS[1], ARGV[1])
            """);
    /** KEYS: the hash. Its fields and values, one after the other. */
    private static final Script GET = Script.of("""
            if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {} end
            return redis.call('HGETALL', KEYS[1])
            """);

    private final Redis redis;
    private final String prefix;
    private final LocalMaps fallback;

    public RedisMaps(Redis redis, String prefix, LocalMaps fallback) {
        this.redis = redis;
        this.prefix = prefix;
        this.fallback = fallback;
        redis.runs(PUT, REMOVE, GET);
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
        if (redis.run("maps.remove", commands -> REMOVE.<Long>run(commands, ScriptOutputType.INTEGER, new String[] {prefix + key},
                Script.arg(field))).isEmpty()) {
            fallback.remove(key, field);
        }
    }

    @Override
    public Map<String, String> get(String key) {
        return redis.run("maps.get", commands -> GET.<List<byte[]>>run(commands, ScriptOutputType.MULTI, new String[] {prefix + key}))
                .map(RedisMaps::text)
                .orElseGet(() -> fallback.get(key));
    }

    private static Map<String, String> text(List<byte[]> fieldsAndValues) {
        Map<String, String> text = new LinkedHashMap<>();
        for (int i = 0; i + 1 < fieldsAndValues.size(); i += 2) {
            text.put(new String(fieldsAndValues.get(i), StandardCharsets.UTF_8), new String(fieldsAndValues.get(i + 1), StandardCharsets.UTF_8));
        }
        return text;
    }
}
