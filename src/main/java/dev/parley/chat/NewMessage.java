package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * A message to append. {@code characterId} names the speaking character in a group chat (assistant
 * messages default to the conversation's character); {@code userId} names the person who writes a
 * user message in a group with several people (default: the conversation's user); {@code
 * idempotencyKey} makes a retry safe; {@code createdAt} is an imported message's original time
 * (null: now), which its id is then drawn from.
 */
public record NewMessage(
        String role,
        String content,
        Long characterId,
        JsonText metadata,
        JsonText attachments,
        Long replyToId,
        String idempotencyKey,
        // Left out of the fingerprint when absent, so keys stored before authors could be named still replay.
        @JsonInclude(JsonInclude.Include.NON_NULL) Long userId,
        @JsonInclude(JsonInclude.Include.NON_NULL) Instant createdAt) {

    /** A message by the conversation's user or one of its characters. */
    public NewMessage(String role, String content, Long characterId, JsonText metadata, JsonText attachments,
                      Long replyToId, String idempotencyKey) {
        this(role, content, characterId, metadata, attachments, replyToId, idempotencyKey, null, null);
    }

    /** A message written now, by a named member of a group or by the conversation's own user and characters. */
    public NewMessage(String role, String content, Long characterId, JsonText metadata, JsonText attachments,
                      Long replyToId, String idempotencyKey, Long userId) {
        this(role, content, characterId, metadata, attachments, replyToId, idempotencyKey, userId, null);
    }

    /** SHA-256 of everything but the key, in hex: a replay with the same key must carry the same message. */
    String fingerprint() {
        var canonical = new NewMessage(role, content, characterId, metadata, attachments, replyToId, null, userId, createdAt);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Json.write(canonical).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
