-- A scope whose last memory with an embedding is deleted takes embeddings of any length again (docs/api.md, Memories):
-- DELETE /v1/memories/{id} forgot the scope's length itself (Memories.FORGET_DIMS), but deleting a conversation with
-- its memories did not, and the scope refused embeddings of another model until a memory was written and deleted by
-- hand. V38's count knows when the last one goes, whichever path takes it: the trigger forgets the length then.
CREATE OR REPLACE FUNCTION parley_count_embeddings() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE memory_scopes s SET embedded = s.embedded + d.delta
          FROM (SELECT app_id, user_id, character_id, count(*) AS delta FROM new_rows
                 WHERE embedding IS NOT NULL GROUP BY app_id, user_id, character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE memory_scopes s SET embedded = s.embedded - d.delta,
                                   dims = CASE WHEN s.embedded - d.delta = 0 THEN NULL ELSE s.dims END
          FROM (SELECT app_id, user_id, character_id, count(*) AS delta FROM old_rows
                 WHERE embedding IS NOT NULL GROUP BY app_id, user_id, character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id;
    ELSE -- an update: an embedding given to a memory without one, or (by hand) taken away
        UPDATE memory_scopes s SET embedded = s.embedded + d.delta,
                                   dims = CASE WHEN s.embedded + d.delta = 0 THEN NULL ELSE s.dims END
          FROM (SELECT n.app_id, n.user_id, n.character_id,
                       sum((n.embedding IS NOT NULL)::int - (o.embedding IS NOT NULL)::int) AS delta
                  FROM new_rows n JOIN old_rows o ON o.app_id = n.app_id AND o.memory_id = n.memory_id
                 GROUP BY n.app_id, n.user_id, n.character_id) d
         WHERE s.app_id = d.app_id AND s.user_id = d.user_id AND s.character_id = d.character_id AND d.delta <> 0;
    END IF;
    RETURN NULL;
END $$;

-- The scopes such deletes left with a length and no embedding.
UPDATE memory_scopes SET dims = NULL WHERE embedded = 0 AND dims IS NOT NULL;
