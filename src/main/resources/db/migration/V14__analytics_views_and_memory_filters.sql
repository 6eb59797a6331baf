-- Analytics as materialised views, refreshed CONCURRENTLY (AnalyticsRefresh) so readers never wait
-- for a refresh: each view has the unique index CONCURRENTLY needs, which is also the index its
-- reads use. Days are UTC days. Created WITH DATA: on a large existing database this migration
-- scans messages once (see docs/operations.md for what a refresh costs).

-- query analytics.character_days: messages each character wrote per day (deleted ones left out)
CREATE MATERIALIZED VIEW analytics_character_days AS
SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, author_character_id AS character_id, count(*) AS messages
  FROM messages
 WHERE author_character_id IS NOT NULL AND deleted_at IS NULL
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX analytics_character_days_key ON analytics_character_days (app_id, day, character_id);

-- query analytics.active_days: users who sent at least one message that day
CREATE MATERIALIZED VIEW analytics_active_days AS
SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(DISTINCT coalesce(author_user_id, user_id)) AS users
  FROM messages
 WHERE role = 'user'
 GROUP BY 1, 2;
CREATE UNIQUE INDEX analytics_active_days_key ON analytics_active_days (app_id, day);

-- query analytics.active_months: users who sent at least one message that month (day: its first day)
CREATE MATERIALIZED VIEW analytics_active_months AS
SELECT app_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month,
       count(DISTINCT coalesce(author_user_id, user_id)) AS users
  FROM messages
 WHERE role = 'user'
 GROUP BY 1, 2;
CREATE UNIQUE INDEX analytics_active_months_key ON analytics_active_months (app_id, month);

-- query analytics.conversation_days: conversations started per day
CREATE MATERIALIZED VIEW analytics_conversation_days AS
SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS conversations
  FROM conversations
 GROUP BY 1, 2;
CREATE UNIQUE INDEX analytics_conversation_days_key ON analytics_conversation_days (app_id, day);

-- query analytics.conversation_roles: one conversation's messages by role (deleted ones left out)
CREATE MATERIALIZED VIEW analytics_conversation_roles AS
SELECT app_id, conversation_id, role, count(*) AS messages
  FROM messages
 WHERE deleted_at IS NULL
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX analytics_conversation_roles_key ON analytics_conversation_roles (app_id, conversation_id, role);

-- When the views were last refreshed and how long it took: one row, moved by whichever instance refreshed.
CREATE TABLE analytics_refresh (
    only_row      boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    refreshed_at  timestamptz NOT NULL,
    took_ms       bigint      NOT NULL
);
INSERT INTO analytics_refresh (refreshed_at, took_ms) VALUES (now(), 0);

-- Memories may name the conversation they came from (recall can favour it), and keep the time they
-- were first recorded when imported (created_at given, no longer always now()).
ALTER TABLE memories ADD COLUMN conversation_id bigint;

-- query memory.list_by_importance: one scope's memories by importance, also an importance range
CREATE INDEX memories_importance_idx ON memories (app_id, user_id, character_id, importance, memory_id);
-- query memory.list_recent: one scope's memories by when they were recorded (imports keep their time)
CREATE INDEX memories_recent_idx ON memories (app_id, user_id, character_id, created_at, memory_id);
-- query memory.list*: metadata containment ({"type":"preference"}) in a large scope
CREATE INDEX memories_metadata_idx ON memories USING gin (metadata jsonb_path_ops);
