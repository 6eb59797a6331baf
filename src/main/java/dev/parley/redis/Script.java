package dev.parley.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script run atomically in Redis: sent by its SHA-1 digest, and in full only when Redis does not hold it yet. */
public record Script(String text, String sha) {
    public static Script of(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            return new Script(text, HexFormat.of().formatHex(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-1", e);
        }
    }

    /** Runs the script with {@code keys} as KEYS and {@code args} as ARGV. */
    public <T> T run(RedisCommands<String, byte[]> commands, ScriptOutputType output, String[] keys, byte[]... args) {
        try {
            return commands.evalsha(sha, output, keys, args);
        } catch (RedisNoScriptException e) { // a restarted or flushed Redis: EVAL sends it and caches it again
            return commands.eval(text, output, keys, args);
        }
    }

    /** ARGV values as Redis takes them. */
    public static byte[] arg(Object value) {
        return String.valueOf(value).getBytes(StandardCharsets.UTF_8);
    }
}
