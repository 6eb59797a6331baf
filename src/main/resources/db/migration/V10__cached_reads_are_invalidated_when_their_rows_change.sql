-- Every running Parley caches reads (cache/ReadCache.java). Whatever changes a cached row, by any
-- route or by hand, is announced on the parley_invalidate channel when it commits, so each instance
-- drops its copy. A notice names a scope: "c:app:conversation:user" (a conversation, its history,
-- and its user's inbox), "i:app:user" (an inbox), "ch:app:character", "u:app:user". Triggers fire
-- once per statement: a group commit that advances fifty conversations sends one notice of fifty.

-- Sends the notices in as few payloads as fit PostgreSQL's 8000-byte limit, separated by spaces.
CREATE FUNCTION parley_announce(notices text[]) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    payload text := '';
    notice  text;
BEGIN
    FOREACH notice IN ARRAY coalesce(notices, '{}') LOOP
        IF length(payload) + length(notice) >= 7900 THEN
            PERFORM pg_notify('parley_invalidate', payload);
            payload := '';
        END IF;
        payload := CASE WHEN payload = '' THEN notice ELSE payload || ' ' || notice END;
    END LOOP;
    IF payload <> '' THEN
        PERFORM pg_notify('parley_invalidate', payload);
    END IF;
END $$;

-- A conversation row changed (a message appended, its state, counters, title) or went away.
CREATE FUNCTION parley_announce_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT 'c:' || app_id || ':' || conversation_id || ':' || user_id FROM changed));
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_updated AFTER UPDATE ON conversations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_conversations();
CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_conversations();

-- A message edited or deleted: its conversation's history (messages carry the conversation's user).
CREATE TRIGGER messages_updated AFTER UPDATE ON messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_conversations();
CREATE TRIGGER messages_deleted AFTER DELETE ON messages
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_conversations();

-- A new conversation appears in its user's inbox.
CREATE FUNCTION parley_announce_new_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT 'i:' || app_id || ':' || user_id FROM changed));
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_inserted AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_new_conversations();

-- A user's read marker moved: the unread counts of their inbox.
CREATE FUNCTION parley_announce_read_markers() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT 'i:' || app_id || ':' || member_id FROM changed
                                   WHERE member_kind = 'user'));
    RETURN NULL;
END $$;

CREATE TRIGGER conversation_members_updated AFTER UPDATE ON conversation_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_read_markers();

CREATE FUNCTION parley_announce_characters() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT 'ch:' || app_id || ':' || character_id FROM changed));
    RETURN NULL;
END $$;

CREATE TRIGGER characters_updated AFTER UPDATE ON characters
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_characters();
CREATE TRIGGER characters_deleted AFTER DELETE ON characters
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_characters();

CREATE FUNCTION parley_announce_users() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT 'u:' || app_id || ':' || user_id FROM changed));
    RETURN NULL;
END $$;

CREATE TRIGGER users_updated AFTER UPDATE ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users();
CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users();
