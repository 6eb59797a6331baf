-- The analytics views count the archived months too. They read messages alone (V14), so once a month
-- moved to the archive (V19) the next refresh dropped its days from every view: a dashboard's history
-- ended where the hot set did. They now read analytics_messages: the hot months, and the archived
-- ones that are not still hot.
--
-- A month is in both places for a moment while it moves (its copy attached to the archive, the hot
-- month not yet detached; partition_moves names it until the move ends). Its archived rows are then
-- counted only where the hot set, as the refresh's snapshot sees it, no longer has them: a lookup by
-- primary key for the rows of a month under way, none for the rest. Each row is counted once at every
-- step of a move (ArchiveTest).
--
-- A refresh reads the archive as well as the hot months now, so its cost grows with all of history
-- again, as it did before anything was archived (docs/operations.md, "Analytics"). Recreated WITH DATA:
-- this migration reads messages and the archive once.
CREATE VIEW analytics_messages AS
SELECT app_id, conversation_id, user_id, author_user_id, author_character_id, role, created_at, deleted_at
  FROM messages
 UNION ALL
SELECT a.app_id, a.conversation_id, a.user_id, a.author_user_id, a.author_character_id, a.role, a.created_at, a.deleted_at
  FROM parley_archive.messages a
 WHERE a.tableoid <> ALL (ARRAY(SELECT to_regclass(format('%I.%I', destination, partition_name))::oid
                                  FROM partition_moves
                                 WHERE destination = 'parley_archive'
                                   AND to_regclass(format('%I.%I', destination, partition_name)) IS NOT NULL))
    OR NOT EXISTS (SELECT 1 FROM messages hot
                    WHERE hot.app_id = a.app_id AND hot.conversation_id = a.conversation_id AND hot.message_id = a.message_id);

DROP MATERIALIZED VIEW analytics_character_days;
DROP MATERIALIZED VIEW analytics_active_days;
DROP MATERIALIZED VIEW analytics_active_months;
DROP MATERIALIZED VIEW analytics_conversation_roles;

-- query analytics.character_days: messages each character wrote per day (deleted ones left out)
CREATE MATERIALIZED VIEW analytics_character_days AS
SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, author_character_id AS character_id, count(*) AS messages
  FROM analytics_messages
 WHERE author_character_id IS NOT NULL AND deleted_at IS NULL
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX analytics_character_days_key ON analytics_character_days (app_id, day, character_id);

-- query analytics.active_days: users who sent at least one message that day
CREATE MATERIALIZED VIEW analytics_active_days AS
SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(DISTINCT coalesce(author_user_id, user_id)) AS users
  FROM analytics_messages
 WHERE role = 'user'
 GROUP BY 1, 2;
CREATE UNIQUE INDEX analytics_active_days_key ON analytics_active_days (app_id, day);

-- query analytics.active_months: users who sent at least one message that month (day: its first day)
CREATE MATERIALIZED VIEW analytics_active_months AS
SELECT app_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month,
       count(DISTINCT coalesce(author_user_id, user_id)) AS users
  FROM analytics_messages
 WHERE role = 'user'
 GROUP BY 1, 2;
CREATE UNIQUE INDEX analytics_active_months_key ON analytics_active_months (app_id, month);

-- query analytics.conversation_roles: one conversation's messages by role (deleted ones left out)
CREATE MATERIALIZED VIEW analytics_conversation_roles AS
SELECT app_id, conversation_id, role, count(*) AS messages
  FROM analytics_messages
 WHERE deleted_at IS NULL
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX analytics_conversation_roles_key ON analytics_conversation_roles (app_id, conversation_id, role);
