-- Recall reads every embedding of a scope (one user's memories of one character) into memory at once, and nothing
-- bounded how many a scope held: 15,050 memories of 4,096 dimensions ran a -Xmx512m server out of memory on its first
-- recall, and a scope larger than PARLEY_RECALL_CACHE was read again at every recall. Each scope now counts its
-- memories with an embedding, so a write can refuse to take it past PARLEY_MEMORY_SCOPE_LIMIT (memory/Memories.java)
-- and a recall can refuse a scope stored over it before loading a byte (memory/Recall.java).
--
-- The triggers keep the count on every path that changes memories (writes, imports, erasures, the bench's loader);
-- a memory never moves to another scope, so a change's delta is per scope. A scope's row is written before its
-- memories (Memories.touchScope holds its lock), and one with no row yet counts nothing here.
ALTER TABLE memory_scopes ADD COLUMN embedded integer NOT NULL DEFAULT 0;

UPDATE memory_scopes s SET embedded = c.embedded
  FROM (SELECT app_id, user_id, character_id, count(*) AS embedded FROM memories
         WHERE embedding IS NOT NULL GROUP BY app_id, user_id, character_id) c
 WHERE s.app_id = c.app_id AND s.user_id = c.user_id AND s.character_id = c.character_id;

-- One function for the three triggers: each names its transition tables old_rows and new_rows, and reads only those
-- its operation has.
CREATE FUNCTION parley_count_embeddings() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE memory_scopes s SET embedded = s.embedded + d.delta
          FROM (SELECT app_id, user_id, character_id, count(*) AS delta FROM new_rows
                 WHERE embedding IS NOT NULL GROUP BY app_id, user_id, character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE memory_scopes s SET embedded = s.embedded - d.delta
          FROM (SELECT app_id, user_id, character_id, count(*) AS delta FROM old_rows
                 WHERE embedding IS NOT NULL GROUP BY app_id, user_id, character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id;
    ELSE -- an update: an embedding given to a memory without one, or (by hand) taken away
        UPDATE memory_scopes s SET embedded = s.embedded + d.delta
          FROM (SELECT n.app_id, n.user_id, n.character_id,
                       sum((n.embedding IS NOT NULL)::int - (o.embedding IS NOT NULL)::int) AS delta
                  FROM new_rows n JOIN old_rows o ON o.app_id = n.app_id AND o.memory_id = n.memory_id
                 GROUP BY n.app_id, n.user_id, n.character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id AND d.delta <> 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER memories_counted_in AFTER INSERT ON memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_count_embeddings();
CREATE TRIGGER memories_counted_out AFTER DELETE ON memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_count_embeddings();
CREATE TRIGGER memories_counted_again AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_count_embeddings();
