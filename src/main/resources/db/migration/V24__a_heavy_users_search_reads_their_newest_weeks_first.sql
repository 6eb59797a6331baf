-- A heavy user's search for a common word fetched every match of the month of their last message
-- from the heap before keeping the newest 200 to rank: about 9,000 rows for the heaviest user of the
-- 10M bench dataset and the word "say", most of a 40-50 ms search (docs/benchmarks.md, "Search").
-- Each message's words now also hold a token of its user and its week ('~u:7:w1456', weeks of
-- message-id time since 2000-01-01), so that MessageSearch can ask the index for a heavy user's
-- newest one or two weeks first and fetch only their matches; the month follows only if those weeks
-- hold too few. One more entry per message in the words index.
--
-- The archive keeps the five-argument function (V19): its searches read whole months, as before.
CREATE FUNCTION parley_message_words(language regconfig, content text, app_id bigint, user_id bigint,
                                     conversation_id bigint, message_id bigint) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN parley_message_words(language, content, app_id, user_id, conversation_id)
           || array_to_tsvector(ARRAY['~u:' || user_id::text || ':w' || ((message_id >> 22) / 604800000)::text]);

-- The generated column is defined again (PostgreSQL 15 cannot change its expression in place): this
-- rewrites every month, as V16 did; VACUUM (ANALYZE) messages afterwards (docs/operations.md).
ALTER TABLE messages DROP COLUMN words;
ALTER TABLE messages ADD COLUMN words tsvector
    GENERATED ALWAYS AS (parley_message_words(language, content, app_id, user_id, conversation_id, message_id)) STORED;

-- query search.messages_*
CREATE INDEX messages_words_idx ON messages USING gin (words) WITH (fastupdate = off);

-- Whether a user is heavy is the sum of their conversations' message_count: in the inbox index, the
-- search's span (first conversation, last activity, messages) is an index-only scan, where reading
-- each conversation row took 6.7 ms for the heaviest user of the 2M bench dataset (5,027 conversations).
-- Conversations are updated at every append with activity_id, an indexed column, so those updates
-- write every index already: the included column adds no index writes, only width.
-- query inbox.page, search.user_span
DROP INDEX conversations_inbox_idx;
CREATE INDEX conversations_inbox_idx ON conversations (app_id, user_id, activity_id, conversation_id) INCLUDE (message_count);
