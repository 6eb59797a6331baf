-- A heavy user's search for a common word fetched every match of the month of their last message
-- from the heap before keeping the newest 200 to rank: about 9,000 rows for the heaviest user of the
-- 10M bench dataset and the word "say", most of a 40-50 ms search (docs/benchmarks.md, "Search").
-- Each message's words now also hold a token of its user and its week ('~u:7:w1456', weeks of
-- message-id time since 2000-01-01), so that MessageSearch can ask the index for the user's newest
-- one or two weeks first and fetch only their matches; the month follows only if those weeks hold
-- too few. One more entry per message in the words index.
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
