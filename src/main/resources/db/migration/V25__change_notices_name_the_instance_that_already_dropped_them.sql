-- A change notice (V10) is heard by every instance, the writer's own included. An instance that makes a change
-- drops the views it makes stale itself, after the commit and before it answers (cache/ReadCache.java,
-- Changing); hearing its own notice a moment later, it dropped them again, and with them whatever a reader
-- had loaded in between (another reader of the same conversation, in the moment before the notice arrived).
-- A transaction that sets parley.origin (set_config('parley.origin', ..., true)) now sends its notices as
-- "@origin notice notice ...": the instance of that origin skips them, every other hears them as before
-- (an older Parley reads "@origin" as a notice of a kind it does not know, and ignores that one alone).
CREATE OR REPLACE FUNCTION parley_announce(notices text[]) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    origin  text := coalesce(current_setting('parley.origin', true), '');
    lead    text := CASE WHEN origin = '' THEN '' ELSE '@' || origin || ' ' END;
    payload text := '';
    notice  text;
BEGIN
    FOREACH notice IN ARRAY coalesce(notices, '{}') LOOP
        IF length(lead) + length(payload) + length(notice) >= 7900 THEN
            PERFORM pg_notify('parley_invalidate', lead || payload);
            payload := '';
        END IF;
        payload := CASE WHEN payload = '' THEN notice ELSE payload || ' ' || notice END;
    END LOOP;
    IF payload <> '' THEN
        PERFORM pg_notify('parley_invalidate', lead || payload);
    END IF;
END $$;
