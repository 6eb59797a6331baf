-- Every running Parley caches which app a key belongs to. A key revoked or deleted (directly, or
-- with its app: ON DELETE CASCADE) is announced on the parley_invalidate channel when the change
-- commits, so each instance drops its cached keys at once instead of honouring them until they expire.
CREATE FUNCTION parley_announce_api_key_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('parley_invalidate', 'api_keys');
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_api_key_change();
