package dev.parley.chat;

import dev.parley.db.Database;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;

/** Whether a user reaches a conversation, a character or a memory: what a user token may touch (UserTokenAccess, AsItsUser). */
public final class UserReach {
    // The conversation's own user, or a user who is a member of it (a guest in a group): also the conversations a
    // user's memories may name (Memories).
    private static final String REACHES_CONVERSATION = """
            SELECT 1 FROM conversations c
             WHERE c.app_id = :app_id AND c.conversation_id = :conversation_id
               AND (c.user_id = :user_id OR EXISTS (
                    SELECT 1 FROM conversation_members m
                     WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                       AND m.member_kind = 'user' AND m.member_id = :user_id))""";

    public static final NamedQuery CONVERSATION = NamedQuery.of("user_reach.conversation", REACHES_CONVERSATION);

    /**
     * The same, holding the conversation until the transaction ends, as a foreign key would, for a write that names it
     * (a memory): its deletion, which locks it first, either finds the write or is waited for and the write finds it gone.
     */
    public static final NamedQuery CONVERSATION_HELD = NamedQuery.of("user_reach.conversation_held",
            REACHES_CONVERSATION + " FOR KEY SHARE OF c");

    static final Query MEMORY = new Query("user_reach.memory", """
            SELECT 1 FROM memories WHERE app_id = ? AND memory_id = ? AND user_id = ?""");

    // A character of a conversation the user is in: both are its members (a conversation's founders always are).
    static final Query CHARACTER = new Query("user_reach.character", """
            SELECT 1 FROM conversation_members users_side
              JOIN conversation_members characters_side
                ON characters_side.app_id = users_side.app_id AND characters_side.conversation_id = users_side.conversation_id
             WHERE users_side.app_id = ? AND users_side.member_kind = 'user' AND users_side.member_id = ?
               AND characters_side.member_kind = 'character' AND characters_side.member_id = ?
             LIMIT 1""");

    private final Database database;

    public UserReach(Database database) {
        this.database = database;
    }

    public boolean conversation(long appId, long conversationId, long userId) {
        return database.read(handle -> handle.first(CONVERSATION.bind("app_id", appId).bind("conversation_id", conversationId)
                .bind("user_id", userId), row -> 1)).isPresent();
    }

    /** Whether the user is in a conversation with the character: whose memories a user token may store. */
    public boolean character(long appId, long characterId, long userId) {
        return database.read(handle -> handle.first(CHARACTER, row -> 1, appId, userId, characterId)).isPresent();
    }

    public boolean memory(long appId, long memoryId, long userId) {
        return database.read(handle -> handle.first(MEMORY, row -> 1, appId, memoryId, userId)).isPresent();
    }
}
