-- Search ranks the newest matches of a query by ts_rank_cd, which needs each match's words with
-- their positions. With the words only in the index expression (V6), ranking parsed every candidate
-- again: 26 to 53 µs a message, 200 candidates a search, most of a search's cost
-- (docs/benchmarks.md "Search ten times cheaper"). Stored, they are computed once, at the write, as
-- the index needed them anyway, and a rank costs about 2 µs.
--
-- The column holds what the index holds: the words in the conversation's language and the scope
-- tokens (~a:, ~u:, ~c:). It is generated, so every way a message is written or edited (appends,
-- COPY, edits, partition moves) keeps it right. It makes message rows about twice as wide (the 2M
-- dataset's heap went from 721 MB to 1,538 MB); history reads name their columns. Adding it rewrites
-- both tables: VACUUM (ANALYZE) them afterwards (docs/operations.md).
ALTER TABLE messages ADD COLUMN words tsvector
    GENERATED ALWAYS AS (parley_message_words(language, content, app_id, user_id, conversation_id)) STORED;

-- query search.messages_*: one GIN per partition on the stored words, in place of the expression index.
DROP INDEX messages_search_idx;
CREATE INDEX messages_words_idx ON messages USING gin (words);

-- Memories the same way: search.memories ranks every match of a user's memories.
ALTER TABLE memories ADD COLUMN words tsvector
    GENERATED ALWAYS AS (parley_memory_words(language, content, user_id, character_id)) STORED;

-- query search.memories, memory.list_relevant
DROP INDEX memories_search_idx;
CREATE INDEX memories_words_idx ON memories USING gin (words);
