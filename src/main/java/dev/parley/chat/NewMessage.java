package dev.parley.chat;

import dev.parley.json.Json;
import dev.parley.json.JsonText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A message to append. {@code characterId} names the speaking character in a group chat (assistant
 * messages default to the conversation's character); {@code idempotencyKey} makes a retry safe.
 */
public record NewMessage(
        String role,
        String content,
        Long characterId,
        JsonText metadata,
        JsonText attachments,
        Long replyToId,
        String idempotencyKey) {

    /** SHA-256 of everything but the key, in hex: a replay with the same key must carry the same message. */
    String fingerprint() {
        var canonical = new NewMessage(role, content, characterId, metadata, attachments, replyToId, null);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Json.write(canonical).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
