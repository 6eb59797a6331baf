-- An archived month is counted once, not at every refresh. Since V31 a refresh read every archived
-- row again, so its cost grew with all of history, archive included. An archived month changes only
-- by erasure, retention and an app's deletion. So a refresh now keeps each archived month's counts
-- (AnalyticsRefresh counts a month, in a transaction of its own, the first time it finds it), and
-- the views add them to what they count of the hot months' rows.
--
-- Exact, distinct users included: every view's key but a conversation's roles (a UTC day, a UTC
-- month) falls inside one monthly partition, and a month's range is in one place only, once its
-- move has ended (Archive). Those views list the counted months' rows beside the rows they count one
-- by one (UNION ALL); a key in both would fail the views' unique indexes, not double a figure. A
-- conversation's roles add up across months.
--
-- A month is read row by row, as in V31, while it is not counted: while it moves (then only the rows
-- the hot set no longer has), and after a change, until the next refresh counts it again. A DELETE or
-- UPDATE through the archive (erasure, retention's batches, an app's deletion) marks the months it
-- touched changed, in its own transaction. A month is counted under a SHARE lock, so no such change
-- is under way while it is counted. Nothing inserts into an attached month: a move attaches a filled
-- copy, a write into an archived month is refused, and the bench's loader fills an archive nobody
-- has counted yet. A month that leaves the archive (retention) is no longer read, counted or not.

DROP MATERIALIZED VIEW analytics_character_days;
DROP MATERIALIZED VIEW analytics_active_days;
DROP MATERIALIZED VIEW analytics_active_months;
DROP MATERIALIZED VIEW analytics_conversation_roles;

-- One row per archived month counted: by its table's oid, so a month that left the archive and came
-- back (a table made again) is counted again. Its id range is the partition's, for the trigger below.
CREATE TABLE analytics_archived_months (
    month_table  oid         PRIMARY KEY,
    month_name   text        NOT NULL,
    from_id      bigint      NOT NULL,
    to_id        bigint      NOT NULL,
    changed      boolean     NOT NULL DEFAULT false,
    counted_at   timestamptz NOT NULL DEFAULT now()
);

-- An archived month's counts, one table per view; an app's go with the app.
CREATE TABLE analytics_archived_character_days (
    month_table   oid    NOT NULL REFERENCES analytics_archived_months ON DELETE CASCADE,
    app_id        bigint NOT NULL REFERENCES apps ON DELETE CASCADE,
    day           date   NOT NULL,
    character_id  bigint NOT NULL,
    messages      bigint NOT NULL,
    PRIMARY KEY (month_table, app_id, day, character_id)
);
CREATE INDEX analytics_archived_character_days_app_idx ON analytics_archived_character_days (app_id);

CREATE TABLE analytics_archived_active_days (
    month_table  oid    NOT NULL REFERENCES analytics_archived_months ON DELETE CASCADE,
    app_id       bigint NOT NULL REFERENCES apps ON DELETE CASCADE,
    day          date   NOT NULL,
    users        bigint NOT NULL,
    PRIMARY KEY (month_table, app_id, day)
);
CREATE INDEX analytics_archived_active_days_app_idx ON analytics_archived_active_days (app_id);

CREATE TABLE analytics_archived_active_months (
    month_table  oid    NOT NULL REFERENCES analytics_archived_months ON DELETE CASCADE,
    app_id       bigint NOT NULL REFERENCES apps ON DELETE CASCADE,
    month        date   NOT NULL,
    users        bigint NOT NULL,
    PRIMARY KEY (month_table, app_id, month)
);
CREATE INDEX analytics_archived_active_months_app_idx ON analytics_archived_active_months (app_id);

CREATE TABLE analytics_archived_conversation_roles (
    month_table      oid    NOT NULL REFERENCES analytics_archived_months ON DELETE CASCADE,
    app_id           bigint NOT NULL REFERENCES apps ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    role             text   NOT NULL,
    messages         bigint NOT NULL,
    PRIMARY KEY (month_table, app_id, conversation_id, role)
);
CREATE INDEX analytics_archived_conversation_roles_app_idx ON analytics_archived_conversation_roles (app_id);

-- The archive's months: whether each is counted (and not changed since), and whether it is still moving in.
CREATE VIEW analytics_archived_partitions AS
SELECT c.oid AS month_table, c.relname::text AS month_name,
       EXISTS (SELECT 1 FROM analytics_archived_months s
                WHERE s.month_table = c.oid AND s.month_name = c.relname AND NOT s.changed) AS counted,
       EXISTS (SELECT 1 FROM partition_moves m
                WHERE m.destination = 'parley_archive' AND m.partition_name = c.relname) AS moving
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'parley_archive.messages'::regclass
   AND NOT i.inhdetachpending; -- a month retention is detaching is on its way out, as reads of the archive see it

-- The rows of the archived months not counted, as V31 read every archived month's: a month still moving
-- gives only the rows the hot set no longer has. STABLE, so it reads with its caller's snapshot. Each
-- function here keeps the migration's search_path: PostgreSQL 17 runs a view's refresh with pg_catalog's.
CREATE FUNCTION parley_uncounted_archived_messages()
    RETURNS TABLE (app_id bigint, conversation_id bigint, user_id bigint, author_user_id bigint,
                   author_character_id bigint, role text, created_at timestamptz, deleted_at timestamptz)
    LANGUAGE plpgsql STABLE SET search_path FROM CURRENT
AS $$
DECLARE
    archived record;
BEGIN
    FOR archived IN SELECT p.month_table::regclass AS month_table, p.moving
                   FROM analytics_archived_partitions p WHERE NOT p.counted LOOP
        RETURN QUERY EXECUTE format($rows$
            SELECT a.app_id, a.conversation_id, a.user_id, a.author_user_id, a.author_character_id, a.role,
                   a.created_at, a.deleted_at
              FROM %s a
             WHERE NOT $1
                OR NOT EXISTS (SELECT 1 FROM messages hot
                                WHERE hot.app_id = a.app_id AND hot.conversation_id = a.conversation_id
                                  AND hot.message_id = a.message_id)$rows$, archived.month_table) USING archived.moving;
    END LOOP;
END $$;

-- The rows a refresh counts one by one: the hot months, and the archived months not counted.
CREATE OR REPLACE VIEW analytics_messages AS
SELECT app_id, conversation_id, user_id, author_user_id, author_character_id, role, created_at, deleted_at
  FROM messages
 UNION ALL
SELECT * FROM parley_uncounted_archived_messages();

-- Each figure once (the views below say which), over any relation with messages' columns: the rows
-- of analytics_messages and an archived month (parley_count_archived_month) are counted alike.

CREATE FUNCTION parley_count_character_days(source regclass)
    RETURNS TABLE (app_id bigint, day date, character_id bigint, messages bigint) LANGUAGE plpgsql STABLE SET search_path FROM CURRENT
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT app_id, (created_at AT TIME ZONE 'UTC')::date, author_character_id, count(*)
          FROM %s
         WHERE author_character_id IS NOT NULL AND deleted_at IS NULL
         GROUP BY 1, 2, 3$q$, source);
END $$;

CREATE FUNCTION parley_count_active_days(source regclass)
    RETURNS TABLE (app_id bigint, day date, users bigint) LANGUAGE plpgsql STABLE SET search_path FROM CURRENT
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT app_id, (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT coalesce(author_user_id, user_id))
          FROM %s
         WHERE role = 'user'
         GROUP BY 1, 2$q$, source);
END $$;

CREATE FUNCTION parley_count_active_months(source regclass)
    RETURNS TABLE (app_id bigint, month date, users bigint) LANGUAGE plpgsql STABLE SET search_path FROM CURRENT
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT app_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, count(DISTINCT coalesce(author_user_id, user_id))
          FROM %s
         WHERE role = 'user'
         GROUP BY 1, 2$q$, source);
END $$;

CREATE FUNCTION parley_count_conversation_roles(source regclass)
    RETURNS TABLE (app_id bigint, conversation_id bigint, role text, messages bigint) LANGUAGE plpgsql STABLE SET search_path FROM CURRENT
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT app_id, conversation_id, role, count(*)
          FROM %s
         WHERE deleted_at IS NULL
         GROUP BY 1, 2, 3$q$, source);
END $$;

-- Counts one archived month (by its table's name) if it is in the archive, not counted, not moving
-- and a range of ids; returns whether it did. The SHARE lock waits for the changes under way in the
-- month and holds off new ones until the caller's transaction ends.
CREATE FUNCTION parley_count_archived_month(table_name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
DECLARE
    archived regclass := to_regclass(format('parley_archive.%I', table_name));
    bounds text[];
BEGIN
    IF archived IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', archived);
    IF NOT EXISTS (SELECT 1 FROM analytics_archived_partitions p
                    WHERE p.month_table = archived AND NOT p.counted AND NOT p.moving) THEN
        RETURN false;
    END IF;
    bounds := regexp_match(pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = archived), archived),
                           'FROM \(''(-?\d+)''\) TO \(''(-?\d+)''\)');
    IF bounds IS NULL THEN -- not a range of ids (a DEFAULT partition): read row by row at every refresh
        RETURN false;
    END IF;
    DELETE FROM analytics_archived_months WHERE month_table = archived; -- and its counts before a change
    INSERT INTO analytics_archived_months (month_table, month_name, from_id, to_id)
    VALUES (archived, table_name, bounds[1]::bigint, bounds[2]::bigint);
    INSERT INTO analytics_archived_character_days SELECT archived, c.* FROM parley_count_character_days(archived) c;
    INSERT INTO analytics_archived_active_days SELECT archived, c.* FROM parley_count_active_days(archived) c;
    INSERT INTO analytics_archived_active_months SELECT archived, c.* FROM parley_count_active_months(archived) c;
    INSERT INTO analytics_archived_conversation_roles SELECT archived, c.* FROM parley_count_conversation_roles(archived) c;
    RETURN true;
END $$;

-- A DELETE or UPDATE through the archive marks the counted months whose rows it touched.
CREATE FUNCTION parley_archived_months_changed() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE analytics_archived_months s
       SET changed = true
     WHERE NOT s.changed
       AND EXISTS (SELECT 1 FROM changed_rows r WHERE r.message_id >= s.from_id AND r.message_id < s.to_id);
    RETURN NULL;
END $$;

CREATE TRIGGER parley_archived_rows_deleted AFTER DELETE ON parley_archive.messages
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_archived_months_changed();
CREATE TRIGGER parley_archived_rows_updated AFTER UPDATE ON parley_archive.messages
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION parley_archived_months_changed();

-- query analytics.character_days: messages each character wrote per day (deleted ones left out)
CREATE MATERIALIZED VIEW analytics_character_days AS
SELECT * FROM parley_count_character_days('analytics_messages')
 UNION ALL
SELECT n.app_id, n.day, n.character_id, n.messages
  FROM analytics_archived_character_days n
  JOIN analytics_archived_partitions p ON p.month_table = n.month_table AND p.counted;
CREATE UNIQUE INDEX analytics_character_days_key ON analytics_character_days (app_id, day, character_id);

-- query analytics.active_days: users who sent at least one message that day
CREATE MATERIALIZED VIEW analytics_active_days AS
SELECT * FROM parley_count_active_days('analytics_messages')
 UNION ALL
SELECT n.app_id, n.day, n.users
  FROM analytics_archived_active_days n
  JOIN analytics_archived_partitions p ON p.month_table = n.month_table AND p.counted;
CREATE UNIQUE INDEX analytics_active_days_key ON analytics_active_days (app_id, day);

-- query analytics.active_months: users who sent at least one message that month (day: its first day)
CREATE MATERIALIZED VIEW analytics_active_months AS
SELECT * FROM parley_count_active_months('analytics_messages')
 UNION ALL
SELECT n.app_id, n.month, n.users
  FROM analytics_archived_active_months n
  JOIN analytics_archived_partitions p ON p.month_table = n.month_table AND p.counted;
CREATE UNIQUE INDEX analytics_active_months_key ON analytics_active_months (app_id, month);

-- query analytics.conversation_roles: one conversation's messages by role (deleted ones left out), its months added up
CREATE MATERIALIZED VIEW analytics_conversation_roles AS
SELECT app_id, conversation_id, role, sum(messages)::bigint AS messages
  FROM (SELECT * FROM parley_count_conversation_roles('analytics_messages')
         UNION ALL
        SELECT n.app_id, n.conversation_id, n.role, n.messages
          FROM analytics_archived_conversation_roles n
          JOIN analytics_archived_partitions p ON p.month_table = n.month_table AND p.counted) AS counted
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX analytics_conversation_roles_key ON analytics_conversation_roles (app_id, conversation_id, role);
