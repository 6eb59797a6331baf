-- The analytics views against a count of every row, hot and archived: each view's rows that the same
-- figure, computed directly, does not have, and the other way round. All four *_diff columns are 0
-- when the views are right. Run after a refresh, e.g.
--   psql -h 127.0.0.1 -p PORT -U postgres -d parley -f docs/measure/analytics-recount.sql
-- (docs/benchmarks.md, "Archived months counted once").
WITH allm AS (SELECT app_id, conversation_id, user_id, author_user_id, author_character_id, role, created_at, deleted_at FROM messages
              UNION ALL SELECT app_id, conversation_id, user_id, author_user_id, author_character_id, role, created_at, deleted_at FROM parley_archive.messages),
 cd AS (SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, author_character_id AS character_id, count(*) AS messages FROM allm WHERE author_character_id IS NOT NULL AND deleted_at IS NULL GROUP BY 1,2,3),
 ad AS (SELECT app_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(DISTINCT coalesce(author_user_id, user_id)) AS users FROM allm WHERE role='user' GROUP BY 1,2),
 am AS (SELECT app_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month, count(DISTINCT coalesce(author_user_id, user_id)) AS users FROM allm WHERE role='user' GROUP BY 1,2),
 cr AS (SELECT app_id, conversation_id, role, count(*) AS messages FROM allm WHERE deleted_at IS NULL GROUP BY 1,2,3)
SELECT (SELECT count(*) FROM (SELECT * FROM cd EXCEPT SELECT * FROM analytics_character_days) x) + (SELECT count(*) FROM (SELECT * FROM analytics_character_days EXCEPT SELECT * FROM cd) x) AS cd_diff,
       (SELECT count(*) FROM (SELECT * FROM ad EXCEPT SELECT * FROM analytics_active_days) x) + (SELECT count(*) FROM (SELECT * FROM analytics_active_days EXCEPT SELECT * FROM ad) x) AS ad_diff,
       (SELECT count(*) FROM (SELECT * FROM am EXCEPT SELECT * FROM analytics_active_months) x) + (SELECT count(*) FROM (SELECT * FROM analytics_active_months EXCEPT SELECT * FROM am) x) AS am_diff,
       (SELECT count(*) FROM (SELECT * FROM cr EXCEPT SELECT * FROM analytics_conversation_roles) x) + (SELECT count(*) FROM (SELECT * FROM analytics_conversation_roles EXCEPT SELECT * FROM cr) x) AS cr_diff,
       (SELECT count(*) FROM cd) cd_rows, (SELECT count(*) FROM ad) ad_rows, (SELECT count(*) FROM am) am_rows, (SELECT count(*) FROM cr) cr_rows,
       (SELECT count(*) FROM analytics_archived_partitions WHERE counted) counted_months, (SELECT count(*) FROM parley_archive.messages) archived;
