-- What a character said is read back from its creation on and no further (CharacterMessages: no message of a
-- character is older than the character). An import breaks that unless the character's creation follows the
-- times it brings: a character made today, then a conversation imported with its original time of last year,
-- would hide that conversation's messages from GET /v1/characters/{id}/messages. So a conversation, or a
-- character's membership of one, that is older than the character moves the character's creation back to
-- the conversation's: the character existed when it first spoke. Every way in (the API, parley import, the
-- bench's loader) writes through these tables, so the rule holds for all of them. A change moves nothing
-- but created_at, which V10's trigger announces to the caches.

CREATE FUNCTION parley_characters_exist_since_their_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE characters c SET created_at = oldest.created_at
      FROM (SELECT app_id, character_id, min(created_at) AS created_at FROM changed GROUP BY app_id, character_id) oldest
     WHERE c.app_id = oldest.app_id AND c.character_id = oldest.character_id AND c.created_at > oldest.created_at;
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_date_their_characters AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_characters_exist_since_their_conversations();

CREATE FUNCTION parley_characters_exist_since_the_conversations_they_join() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE characters c SET created_at = oldest.created_at
      FROM (SELECT m.app_id, m.member_id AS character_id, min(v.created_at) AS created_at
              FROM changed m
              JOIN conversations v ON v.app_id = m.app_id AND v.conversation_id = m.conversation_id
             WHERE m.member_kind = 'character'
             GROUP BY m.app_id, m.member_id) oldest
     WHERE c.app_id = oldest.app_id AND c.character_id = oldest.character_id AND c.created_at > oldest.created_at;
    RETURN NULL;
END $$;

CREATE TRIGGER conversation_members_date_their_characters AFTER INSERT ON conversation_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_characters_exist_since_the_conversations_they_join();
