-- A deleted user's inbox goes with them on every instance. An inbox answers only while its user is there, and
-- V10's notice of a user ("u:app:user") drops only the user's own views: an inbox another instance read during an
-- erasure, after its batches had deleted the user's conversations and before the user's row went, was kept there
-- (empty, 200) for the inbox's lifetime. A deleted user now also announces "i:app:user". Not on every update of a
-- user: counters and memory writes announce the user too (V27), and an inbox does not show them.
CREATE FUNCTION parley_announce_users_deleted() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM parley_announce(ARRAY(SELECT DISTINCT notice || app_id || ':' || user_id
                                    FROM changed, unnest(ARRAY['u:', 'i:']) AS notice));
    RETURN NULL;
END $$;

DROP TRIGGER users_deleted ON users;
CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users_deleted();
