package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.json.JsonText;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything an app sends to its LLM for the next reply, in one request: the character's profile and
 * system prompt, the user's profile, the conversation's state, and the last N visible messages as
 * chat-completion messages (system prompt first).
 */
public final class ChatContext {
    // newest_id ends the messages read, as MessageLog.NEWEST_ID does for history: no message is newer.
    static final Query HEAD = new Query("context.head", """
            SELECT c.state, c.counters, c.title, c.is_group, c.language::text AS language, c.user_id, u.external_id, u.profile,
                   coalesce(c.last_message_id, c.conversation_id) AS newest_id,
                   ch.character_id, ch.name, ch.system_prompt, ch.traits, ch.metadata,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'character') AS character_ids
              FROM conversations c
              JOIN users u ON u.app_id = c.app_id AND u.user_id = c.user_id
              JOIN characters ch ON ch.app_id = c.app_id AND ch.character_id = coalesce(?, c.character_id)
             WHERE c.app_id = ? AND c.conversation_id = ?""");

    private static final String VISIBLE_NEWEST_FIRST = """
            SELECT role, content, author_character_id FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id <= ? AND deleted_at IS NULL
             ORDER BY message_id DESC
             LIMIT ?""";
    static final Query RECENT = new Query("context.messages_recent", VISIBLE_NEWEST_FIRST);
    static final Query OLDER = new Query("context.messages_older", VISIBLE_NEWEST_FIRST);

    static final Query CHARACTER_NAMES = new Query("context.character_names", """
            SELECT character_id, name FROM characters WHERE app_id = ? AND character_id = ANY(?)""");

    /** One chat-completion message; {@code name} tells characters apart in a group chat. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record LlmMessage(String role, String content, String name) {
    }

    public record Speaker(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String name, String systemPrompt,
                          JsonText traits, JsonText metadata) {
    }

    public record Person(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String externalId, JsonText profile) {
    }

    public record State(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String title, boolean isGroup,
                        String language, JsonText state, JsonText counters) {
    }

    /** A memory recalled for this reply, as the app and the model see it. */
    public record Remembered(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String content, double relevance) {
    }

    public record Context(State conversation, Speaker character, Person user, List<LlmMessage> messages,
                          List<Remembered> memories) {
        /** This context with memories: listed for the app, and told to the model in a system message after the prompt. */
        public Context withMemories(List<Remembered> found) {
            if (found.isEmpty()) {
                return this;
            }
            var notes = new StringBuilder("What you remember about the user:");
            found.forEach(memory -> notes.append("\n- ").append(memory.content()));
            List<LlmMessage> withNotes = new ArrayList<>(messages);
            int afterPrompt = character.systemPrompt().isEmpty() ? 0 : 1; // build() puts a non-empty prompt first
            withNotes.add(afterPrompt, new LlmMessage("system", notes.toString(), null));
            return new Context(conversation, character, user, List.copyOf(withNotes), List.copyOf(found));
        }
    }

    private record Head(State state, Speaker speaker, Person person, List<Long> members, long newestId) {
    }

    private final Database database;

    public ChatContext(Database database) {
        this.database = database;
    }

    /** The context for {@code characterId}'s next reply (null: the conversation's character) with the last {@code limit} messages. */
    public Context build(long appId, long conversationId, Long characterId, int limit) {
        return database.read(h -> {
            Head head = h.first(HEAD, row -> new Head(
                    new State(conversationId, row.getString("title"), row.getBoolean("is_group"), row.getString("language"),
                            JsonText.stored(row.getString("state")), JsonText.stored(row.getString("counters"))),
                    new Speaker(row.getLong("character_id"), row.getString("name"), row.getString("system_prompt"),
                            JsonText.stored(row.getString("traits")), JsonText.stored(row.getString("metadata"))),
                    new Person(row.getLong("user_id"), row.getString("external_id"), JsonText.stored(row.getString("profile"))),
                    List.of((Long[]) row.getArray("character_ids").getArray()),
                    row.getLong("newest_id")
            ), characterId, appId, conversationId).orElse(null);
            if (head == null) {
                MessageLog.requireConversation(h, appId, conversationId);
                throw new InvalidInput("character_id", "refers to character " + characterId + ", which does not exist in this app");
            }
            Speaker speaker = head.speaker();
            List<Long> members = head.members();
            if (!members.contains(speaker.id())) {
                throw new InvalidInput("character_id", "refers to character " + speaker.id()
                        + ", which is not a member of conversation " + conversationId);
            }
            Map<Long, String> names = new HashMap<>(Map.of(speaker.id(), speaker.name()));
            if (members.size() > 1) {
                h.list(CHARACTER_NAMES, row -> names.put(row.getLong(1), row.getString(2)), appId,
                        h.array("bigint", members.toArray(Long[]::new)));
            }
            List<LlmMessage> messages = MessageLog.newestFirst(h, RECENT, OLDER, row -> new LlmMessage(row.getString("role"),
                    row.getString("content"), names.get((Long) row.getObject("author_character_id"))),
                    appId, conversationId, head.newestId(), limit);
            Collections.reverse(messages);
            if (!speaker.systemPrompt().isEmpty()) {
                messages.addFirst(new LlmMessage("system", speaker.systemPrompt(), null));
            }
            return new Context(head.state(), speaker, head.person(), messages, List.of());
        });
    }
}
