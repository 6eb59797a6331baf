-- Group chats with several people: users besides the conversation's own user join as guests
-- (POST /v1/conversations/{id}/members), write messages, keep their own read markers, and find the
-- group in their inbox (chat/Members.java, chat/Inbox.java).

-- A guest is a user member other than the conversation's user. A constant default makes this a
-- catalog change: PostgreSQL 11+ rewrites no row to add it.
ALTER TABLE conversation_members ADD COLUMN guest boolean NOT NULL DEFAULT false;

-- query inbox.page (its second branch): the groups a user joined as a guest. Only guests are in it,
-- so a user with 10,000 conversations of their own costs it nothing, and a guest's inbox sorts only
-- the groups they joined; the conversation's own user stays on conversations_inbox_idx.
-- Also serves the guest ids that appends, edits and deletes read to drop their guests' inboxes.
CREATE INDEX conversation_members_guest_idx ON conversation_members (app_id, member_id, conversation_id)
    WHERE member_kind = 'user' AND guest;

-- A conversation row changed (a message appended, its state, counters, title) or went away: as V10,
-- and the inboxes of its guests, which list it too. Only groups can have guests, so a direct chat
-- costs no lookup.
CREATE FUNCTION parley_announce_group_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(
        SELECT DISTINCT 'c:' || app_id || ':' || conversation_id || ':' || user_id FROM changed
        UNION ALL
        SELECT DISTINCT 'i:' || g.app_id || ':' || g.member_id
          FROM changed c
          JOIN conversation_members g
            ON g.app_id = c.app_id AND g.conversation_id = c.conversation_id AND g.member_kind = 'user' AND g.guest
         WHERE c.is_group));
    RETURN NULL;
END $$;

-- The V10 triggers on conversations share their function with the messages triggers (whose rows
-- have no is_group); the conversations' own triggers move to the function that knows guests.
DROP TRIGGER conversations_updated ON conversations;
DROP TRIGGER conversations_deleted ON conversations;
CREATE TRIGGER conversations_updated AFTER UPDATE ON conversations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_group_conversations();
CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_group_conversations();

-- A member joined or left: the user's inbox (a guest's lists the group, or no longer does) and the
-- conversation, whose members its views show. A member row that goes with its conversation finds no
-- conversation here: the conversation's own trigger announces it.
CREATE FUNCTION parley_announce_memberships() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(
        SELECT DISTINCT 'i:' || app_id || ':' || member_id FROM changed WHERE member_kind = 'user'
        UNION ALL
        SELECT DISTINCT 'c:' || c.app_id || ':' || c.conversation_id || ':' || c.user_id
          FROM changed m
          JOIN conversations c ON c.app_id = m.app_id AND c.conversation_id = m.conversation_id));
    RETURN NULL;
END $$;

CREATE TRIGGER conversation_members_inserted AFTER INSERT ON conversation_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_memberships();
CREATE TRIGGER conversation_members_deleted AFTER DELETE ON conversation_members
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_memberships();
