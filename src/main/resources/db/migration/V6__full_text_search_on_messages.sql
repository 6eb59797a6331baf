-- Full-text search over messages, per user, per conversation or per app, in the conversation's language.
--
-- The search vector is an index expression, not a stored column: a stored tsvector would roughly
-- double the width of every message row, and history reads (the hottest query) would pay for it.
-- Ranking recomputes the vector for the matching rows only.

-- btree_gin lets one GIN index hold the user id beside the words, so a user's search reads only
-- that user's entries.
CREATE EXTENSION IF NOT EXISTS btree_gin;

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

-- query search.messages: words in one user's messages (a conversation filter rides on it); an
-- app-wide search uses the words column alone and filters app_id on the rows.
CREATE INDEX messages_search_idx ON messages USING gin (user_id, to_tsvector(language, content));
