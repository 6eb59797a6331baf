-- Browser apps call the API from their own origin (issue 15): each app names the origins whose pages
-- may read its answers. Empty, the default, allows none: only servers and native clients call it.
-- Origins are stored as browsers send them (scheme://host[:port], lower case, no default port),
-- which apps.Origins checks before it writes them.
ALTER TABLE apps ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}';

-- Every running Parley caches all apps' origins (a preflight carries no key, so it is checked against
-- all of them). A change, or an app deleted, is announced when it commits, as V9 does for keys.
CREATE FUNCTION parley_announce_app_origins_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('parley_invalidate', 'app_origins');
    RETURN NULL;
END $$;

CREATE TRIGGER apps_origins_changed AFTER UPDATE OF allowed_origins OR DELETE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_app_origins_change();
