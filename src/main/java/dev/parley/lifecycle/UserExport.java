package dev.parley.lifecycle;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.parley.chat.Conversation;
import dev.parley.chat.Conversations;
import dev.parley.chat.Message;
import dev.parley.chat.MessageLog;
import dev.parley.chat.User;
import dev.parley.chat.Users;
import dev.parley.json.Json;
import dev.parley.memory.Memories;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

/**
 * Everything Parley holds about one user, as one JSON document, for an access request:
 *
 * <pre>
 * {"exported_at": ..., "user": {...},
 *  "conversations": [{"conversation": {...}, "messages": [...]}, ...],
 *  "group_messages": [{"conversation_id": "...", "messages": [...]}, ...],
 *  "memories": [{..., "embedding": "base64 of float32"}, ...]}
 * </pre>
 *
 * Written as it is read, a page at a time ({@link #PAGE} rows, each page its own short read), so a user
 * with a million messages needs no more memory than one with ten, and holds no transaction open for
 * the whole export. Each object has the shape the API gives it; messages include soft-deleted ones,
 * whose content Parley still holds. Typing and presence are not exported: they are kept for seconds.
 */
public final class UserExport {
    static final int PAGE = 500;

    /** The document's shape, as the API document describes it; it is written a row at a time, never built whole. */
    public record Document(Instant exportedAt, User user, List<OwnConversation> conversations,
                           List<GroupMessages> groupMessages, List<Memories.WithEmbedding> memories) {
    }

    /** One of the user's conversations, with all its messages. */
    public record OwnConversation(Conversation conversation, List<Message> messages) {
    }

    /** What the user wrote in a group of someone else's. */
    public record GroupMessages(@JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId, List<Message> messages) {
    }

    private final Users users;
    private final Conversations conversations;
    private final MessageLog messages;
    private final Memories memories;
    private final Clock clock;

    public UserExport(Users users, Conversations conversations, MessageLog messages, Memories memories, Clock clock) {
        this.users = users;
        this.conversations = conversations;
        this.messages = messages;
        this.memories = memories;
        this.clock = clock;
    }

    /** The user, or NotFound: call before the response is committed, so an unknown user still gets a 404. */
    public User user(long appId, long userId) {
        return users.get(appId, userId);
    }

    /** Writes the export of {@code user} to {@code out}. */
    public void write(long appId, User user, OutputStream out) throws IOException {
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("exported_at", clock.instant().toString());
            json.writeObjectField("user", user);
            json.writeArrayFieldStart("conversations");
            for (List<Conversation> page = conversations.ofUser(appId, user.id(), 0, PAGE); !page.isEmpty();
                 page = conversations.ofUser(appId, user.id(), page.getLast().id(), PAGE)) {
                for (Conversation conversation : page) {
                    json.writeStartObject();
                    json.writeObjectField("conversation", conversation);
                    writeMessages(json, appId, conversation.id(), null);
                    json.writeEndObject();
                }
            }
            json.writeEndArray();
            json.writeArrayFieldStart("group_messages");
            for (long group : conversations.groupsOf(appId, user.id())) {
                json.writeStartObject();
                json.writeStringField("conversation_id", String.valueOf(group));
                writeMessages(json, appId, group, user.id());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeArrayFieldStart("memories");
            for (List<Memories.WithEmbedding> page = memories.ofUser(appId, user.id(), 0, PAGE); !page.isEmpty();
                 page = memories.ofUser(appId, user.id(), page.getLast().memory().id(), PAGE)) {
                for (Memories.WithEmbedding memory : page) {
                    json.writeObject(memory);
                }
            }
            json.writeEndArray();
            json.writeEndObject();
        }
    }

    /** A "messages" array of the conversation's messages, oldest first; {@code author} keeps only theirs. */
    private void writeMessages(JsonGenerator json, long appId, long conversationId, Long author) throws IOException {
        json.writeArrayFieldStart("messages");
        for (List<Message> page = messages.oldestFirst(appId, conversationId, 0, author, PAGE); !page.isEmpty();
             page = messages.oldestFirst(appId, conversationId, page.getLast().id(), author, PAGE)) {
            for (Message message : page) {
                json.writeObject(message);
            }
            json.flush(); // a page at a time to the client
        }
        json.writeEndArray();
    }
}
