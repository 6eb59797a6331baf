package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.db.Query;
import java.util.ArrayList;
import java.util.List;

/**
 * Which of an app's conversations a list wants; every filter is optional and they combine. Each is
 * served by an index (V3, V12, V15): the user's by the inbox index and, for the groups they joined as a
 * guest, the guest index; a member character's by
 * conversation_members_member_idx, state containment and key existence by the GIN index on state,
 * an external chat id by its unique index, and none at all by conversations_activity_idx.
 */
public record ConversationFilter(Long userId, Long memberCharacterId, JsonNode stateContains, String stateKey,
                                 String externalId) {

    /** Where a page starts: after this conversation in the order of last activity, newest first. */
    public record Position(long activityId, long conversationId) {
        public static final Position START = new Position(Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** The statement for one page, its name saying which filters it has, and its arguments in order. */
    record Statement(Query query, Object[] arguments) {
    }

    Statement statement(long appId, Position after, int limit) {
        List<String> names = new ArrayList<>();
        StringBuilder where = new StringBuilder(); // the filters besides the app and the user, each " AND ..."
        List<Object> arguments = new ArrayList<>();
        if (userId != null) {
            names.add("user");
        }
        if (memberCharacterId != null) {
            names.add("member");
            where.append(" AND c.conversation_id IN (SELECT m.conversation_id FROM conversation_members m"
                    + " WHERE m.app_id = c.app_id AND m.member_kind = 'character' AND m.member_id = ?)");
            arguments.add(memberCharacterId);
        }
        if (stateContains != null) {
            names.add("state");
            where.append(" AND c.state @> ?::jsonb");
            arguments.add(stateContains.toString());
        }
        if (stateKey != null) {
            names.add("state_key");
            where.append(" AND c.state ?? ?::text"); // ?? is JDBC's escape for jsonb's key-exists operator ?
            arguments.add(stateKey);
        }
        if (externalId != null) {
            names.add("external_id");
            where.append(" AND c.external_id = ?");
            arguments.add(externalId);
        }
        String name = names.isEmpty() ? "conversation.list" : "conversation.list_by_" + String.join("_and_", names);
        if (userId == null) {
            return new Statement(new Query(name, """
                    SELECT %s FROM conversations c
                     WHERE c.app_id = ?%s
                       AND (c.activity_id, c.conversation_id) < (?, ?)
                     ORDER BY c.activity_id DESC, c.conversation_id DESC
                     LIMIT ?""".formatted(Conversations.COLUMNS, where)), page(List.of(appId), arguments, after, limit).toArray());
        }
        // A user's conversations are those they started and the groups they joined as a guest, as in their inbox:
        // each branch walks its own index (conversations_inbox_idx, conversation_members_guest_idx) to a page.
        List<Object> both = page(List.of(appId, userId), arguments, after, limit);
        both.addAll(page(List.of(appId, userId), arguments, after, limit));
        both.add(limit);
        return new Statement(new Query(name, """
                SELECT * FROM ((SELECT %1$s FROM conversations c
                                 WHERE c.app_id = ? AND c.user_id = ?%2$s
                                   AND (c.activity_id, c.conversation_id) < (?, ?)
                                 ORDER BY c.activity_id DESC, c.conversation_id DESC
                                 LIMIT ?)
                               UNION ALL
                               (SELECT %1$s FROM conversation_members g
                                  JOIN conversations c ON c.app_id = g.app_id AND c.conversation_id = g.conversation_id
                                 WHERE g.app_id = ? AND g.member_id = ? AND g.member_kind = 'user' AND g.guest%2$s
                                   AND (c.activity_id, c.conversation_id) < (?, ?)
                                 ORDER BY c.activity_id DESC, c.conversation_id DESC
                                 LIMIT ?)) listed
                 ORDER BY activity_id DESC, conversation_id DESC
                 LIMIT ?""".formatted(Conversations.COLUMNS, where)), both.toArray());
    }

    /** One branch's arguments: {@code leading}, the filters', then where the page starts and its size. */
    private static List<Object> page(List<Object> leading, List<Object> filters, Position after, int limit) {
        List<Object> arguments = new ArrayList<>(leading);
        arguments.addAll(filters);
        arguments.addAll(List.of(after.activityId(), after.conversationId(), limit));
        return arguments;
    }
}
