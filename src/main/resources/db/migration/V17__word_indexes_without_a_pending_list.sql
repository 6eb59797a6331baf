-- The words indexes (V16) are written through at each append instead of through GIN's pending list.
--
-- With fastupdate on, appends add their words to a pending list of up to 4 MB, and the append that
-- finds it full moves the whole list into the index before it commits: with one group-commit writer
-- every append waits for that, 300-450 ms each time, several times a minute under load (the p99
-- of appends at 8 clients was 230-250 ms). Every search also reads the whole pending list of each
-- partition it looks at. Without it the same appends ran as fast (1,923 and 2,178 appends/s against
-- 2,001 and 1,987) with a p99 of 15-18 ms (docs/benchmarks.md, "Appends").
--
-- A partitioned index takes storage parameters only when it is created, and passes them to every
-- partition, including months made later: so both indexes are built again, once.
-- query search.messages_*
DROP INDEX messages_words_idx;
CREATE INDEX messages_words_idx ON messages USING gin (words) WITH (fastupdate = off);

-- query search.memories, memory.list_relevant
DROP INDEX memories_words_idx;
CREATE INDEX memories_words_idx ON memories USING gin (words) WITH (fastupdate = off);
