-- Full-text search over messages, per conversation, per user or per app, in the conversation's language.

-- The text-search configuration (english, french, simple ...) a conversation's messages are indexed with.
ALTER TABLE conversations ADD COLUMN language regconfig NOT NULL DEFAULT 'english';

-- Copied from the conversation at append, so the index needs no join: the conversation's user
-- (user ids are unique across apps) and language.
ALTER TABLE messages ADD COLUMN user_id bigint;
ALTER TABLE messages ADD COLUMN language regconfig NOT NULL DEFAULT 'english';
UPDATE messages m SET user_id = c.user_id
  FROM conversations c
 WHERE c.app_id = m.app_id AND c.conversation_id = m.conversation_id;
ALTER TABLE messages ALTER COLUMN user_id SET NOT NULL;

-- What a message can be found by: its words, and the scopes it belongs to as tokens that no text
-- produces (~a:<app>, ~u:<user>, ~c:<conversation>). A search for "dog" in user 7's messages is
-- the tsquery 'dog' & '~u:7', which GIN answers by intersecting two posting lists.
--
-- Not a (user_id, words) index through btree_gin: the planner costs btree_gin's equality as a
-- range scan of the index and preferred a sequential scan of each partition (99 ms against
-- 0.3 ms for one user and one common word in a month of 10M messages, docs/operations.md). And
-- not a stored column: a stored tsvector would about double the width of the rows history reads.
CREATE FUNCTION parley_message_words(language regconfig, content text, app_id bigint, user_id bigint,
                                     conversation_id bigint) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector(language, content)
           || array_to_tsvector(ARRAY['~a:' || app_id::text, '~u:' || user_id::text, '~c:' || conversation_id::text]);

-- query search.messages_app, search.messages_user, search.messages_conversation
CREATE INDEX messages_search_idx ON messages
    USING gin (parley_message_words(language, content, app_id, user_id, conversation_id));
