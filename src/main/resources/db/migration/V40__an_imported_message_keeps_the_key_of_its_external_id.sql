-- An imported message keeps the 64-bit key of its conversation's and its own external id (Import.keyOf), so an
-- import run again finds it by what it is. It was found by its id alone, and the id of a message that shares its
-- millisecond with the ones before it is one above theirs: it depended on which earlier lines were accepted, so a
-- rejected line mended and imported again took the next message's id (found as "existing", and lost) and shifted
-- the ones after it (stored twice). Null for messages appended through the API and for those imported before this;
-- no index: an import looks a key up among its conversation's rows of one millisecond, through the primary key.
ALTER TABLE messages ADD COLUMN import_key bigint;
ALTER TABLE parley_archive.messages ADD COLUMN import_key bigint;
