package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.time.Instant;
import java.util.Set;

/**
 * One message. Its id orders it in time and serves as its cursor; {@code seq} numbers it 1, 2, 3 ...
 * within its conversation. A soft-deleted message keeps its place but not its content. Written as JSON by
 * {@link MessageJson}; the annotations say what Jackson reads (Redis' shared views) and the API document.
 */
@JsonSerialize(using = MessageJson.class)
public record Message(
        @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
        long seq,
        String role,
        @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long userId,
        @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long characterId,
        @Nullable String content,
        JsonText metadata,
        JsonText attachments,
        @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long replyToId,
        Instant createdAt,
        @Nullable Instant editedAt,
        @Nullable Instant deletedAt) {

    public static final Set<String> ROLES = Set.of("user", "assistant", "system", "tool");
}
