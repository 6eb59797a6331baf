-- Leaderboards: an app's users ranked by one of their named counters (V11), highest first
-- (GET /v1/leaderboard?counter=xp, GET /v1/users/{user_id}/rank?counter=xp). Ranking the jsonb column
-- itself would read every user of the app on each request; instead each integer counter of each user is
-- a row here, kept by a trigger on users in the transaction that writes the counters: a write-behind
-- flush (chat/CounterBuffer.java), a durable increment, a hand-written UPDATE alike. A user's rows go
-- with the user (erasure, an app's deletion) by the foreign key.

-- A counter's value as a leaderboard ranks it: an integer in the 64-bit range, else NULL (not ranked).
-- Only a value written by hand through SQL can be anything else; Parley's own writes are 64-bit integers.
CREATE FUNCTION parley_counter_value(counter jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(counter) IS DISTINCT FROM 'number' THEN NULL
                WHEN counter::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN NULL
                WHEN counter::numeric <> trunc(counter::numeric) THEN NULL
                ELSE counter::numeric::bigint END
$$;

CREATE TABLE leaderboard_entries (
    app_id   bigint NOT NULL,
    user_id  bigint NOT NULL,
    name     text   NOT NULL,
    value    bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, name),
    FOREIGN KEY (app_id, user_id) REFERENCES users ON DELETE CASCADE
);

-- query leaderboard.page and leaderboard.rank: a page is one range of this index, highest value first and
-- ties by user id, and a rank counts the entries above a value in it.
CREATE INDEX leaderboard_entries_rank_idx ON leaderboard_entries (app_id, name, value DESC, user_id);

-- Users updated: each counter whose value changed is written, each that is gone (or no longer an integer) removed.
-- Once per statement, over its transition tables, as the V10 triggers on users: a flush of a thousand users is one
-- INSERT of the counters that moved (about 35 µs a user moved; a trigger per row cost about 100). PostgreSQL cannot limit a trigger
-- with transition tables to UPDATE OF counters, so a profile's PATCH runs it too, and finds no counter changed.
CREATE FUNCTION parley_rank_user_counters() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    -- Found in the transition tables first: an increment removes no counter, so a flush probes no entry here.
    WITH gone AS MATERIALIZED (
        SELECT n.app_id, n.user_id, k.key AS name
          FROM old_users o JOIN new_users n ON n.app_id = o.app_id AND n.user_id = o.user_id, jsonb_each(o.counters) AS k
         WHERE o.counters IS DISTINCT FROM n.counters AND k.value IS DISTINCT FROM n.counters -> k.key
           AND parley_counter_value(n.counters -> k.key) IS NULL AND parley_counter_value(k.value) IS NOT NULL)
    DELETE FROM leaderboard_entries e USING gone
     WHERE e.app_id = gone.app_id AND e.user_id = gone.user_id AND e.name = gone.name;
    INSERT INTO leaderboard_entries (app_id, user_id, name, value)
    SELECT n.app_id, n.user_id, c.key, parley_counter_value(c.value)
      FROM old_users o JOIN new_users n ON n.app_id = o.app_id AND n.user_id = o.user_id, jsonb_each(n.counters) AS c
     WHERE o.counters IS DISTINCT FROM n.counters
       AND c.value IS DISTINCT FROM o.counters -> c.key
       AND parley_counter_value(c.value) IS NOT NULL
    ON CONFLICT (app_id, user_id, name) DO UPDATE SET value = EXCLUDED.value;
    RETURN NULL;
END $$;

CREATE TRIGGER users_counters_ranked AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION parley_rank_user_counters();

-- A user inserted with counters: only by hand through SQL (the API and the import insert none), so a row trigger
-- whose condition keeps every other insert from calling it.
CREATE FUNCTION parley_rank_inserted_user() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO leaderboard_entries (app_id, user_id, name, value)
    SELECT NEW.app_id, NEW.user_id, c.key, parley_counter_value(c.value)
      FROM jsonb_each(NEW.counters) AS c
     WHERE parley_counter_value(c.value) IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER users_inserted_ranked AFTER INSERT ON users
    FOR EACH ROW WHEN (NEW.counters <> '{}') EXECUTE FUNCTION parley_rank_inserted_user();

-- The counters written before this migration. The triggers' lock on users, taken above, holds off writes to it
-- meanwhile, so none is missed: 57 s for a million users with two counters each on the development machine.
INSERT INTO leaderboard_entries (app_id, user_id, name, value)
SELECT u.app_id, u.user_id, c.key, parley_counter_value(c.value)
  FROM users u, jsonb_each(u.counters) AS c
 WHERE u.counters <> '{}' AND parley_counter_value(c.value) IS NOT NULL;
