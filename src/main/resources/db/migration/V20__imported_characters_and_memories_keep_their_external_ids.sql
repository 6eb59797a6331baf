-- An import is idempotent by the external ids of what it brings (issue 13): users and conversations
-- have theirs (V1, V12); characters and memories get one here. Messages need none: an imported
-- message's id is drawn from its original time and its external id (Import), so the row itself says
-- whether it was imported already.
ALTER TABLE characters ADD COLUMN external_id text;
CREATE UNIQUE INDEX characters_external_id_key ON characters (app_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE memories ADD COLUMN external_id text;
CREATE UNIQUE INDEX memories_external_id_key ON memories (app_id, external_id) WHERE external_id IS NOT NULL;
