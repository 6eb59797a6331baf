-- A group-commit batch's write and its COMMIT now travel in one round trip (chat/BatchWriter.java), so the check
-- that the write inserted every message it was given can no longer run in Parley between the two: it runs in the
-- statement, and a batch that inserted fewer fails before the COMMIT instead of acknowledging messages it lost.
CREATE FUNCTION parley_all_inserted(inserted bigint, given bigint) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF inserted <> given THEN
        RAISE EXCEPTION 'the batch inserted % of its % messages', inserted, given;
    END IF;
    RETURN inserted;
END $$;
