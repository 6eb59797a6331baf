-- JSON Merge Patch (RFC 7396) applied where the document lives: a stored document is never read
-- into Parley to be patched, so whatever jsonb holds (numbers of any length, nesting thousands deep)
-- can be patched, and two patches of one row are ordered by its row lock.
-- Recursion follows the patch, whose depth the request parser bounds, not the stored document.
CREATE FUNCTION parley_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    merged jsonb := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}' END;
    member record;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch; -- a scalar or array replaces; SQL NULL (no patch) returns NULL
    END IF;
    FOR member IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(member.value) = 'null' THEN
            merged := merged - member.key;
        ELSE
            merged := jsonb_set(merged, ARRAY[member.key], parley_merge_patch(merged -> member.key, member.value));
        END IF;
    END LOOP;
    RETURN merged;
END $$;
