-- Users get named integer counters, as conversations have (XP, level, coins for leaderboards),
-- moved by POST /v1/users/{user_id}/counters and written behind the request (chat/CounterBuffer.java).
-- A constant default makes this a catalog change: PostgreSQL 11+ rewrites no row to add it.
-- An UPDATE of the column is announced to other instances by the users_updated trigger (V10).
ALTER TABLE users ADD COLUMN counters jsonb NOT NULL DEFAULT '{}';
