-- Conditional updates: each PATCH (and a user upsert that changes the profile) adds one to its row's
-- version, compared in the UPDATE's own WHERE clause, so a writer holding an older ETag changes
-- nothing (412). Appends, read markers and counters do not move it: they are not what a PATCH writes.
-- A constant default is a catalog change only: no table is rewritten.
ALTER TABLE characters ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE conversations ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- The app's own id for a chat (a Telegram chat id, say), set when the conversation is created.
ALTER TABLE conversations ADD COLUMN external_id text;
-- query conversation.list_by_external_id: one chat id, one conversation per app. Partial: conversations
-- without one add no entry.
CREATE UNIQUE INDEX conversations_external_id_key ON conversations (app_id, external_id) WHERE external_id IS NOT NULL;

-- query conversation.list: an app's conversations by last activity, newest first. A fourth index that
-- moves with activity_id: one more index entry per append (conversations_character_idx's note).
CREATE INDEX conversations_activity_idx ON conversations (app_id, activity_id, conversation_id);

-- query conversation.list_by_member: the conversations a character takes part in, leading or not
-- (group chats). The primary key leads with the conversation, so it cannot answer "which ones".
CREATE INDEX conversation_members_member_idx ON conversation_members (app_id, member_kind, member_id, conversation_id);

-- query conversation.list_by_state and list_by_state_key: state containment ({"status":"open"}) and key
-- existence (state ? 'key'). jsonb_ops, not jsonb_path_ops, since the latter cannot answer "?".
-- As for characters, app_id is checked on the rows the index returns.
CREATE INDEX conversations_state_idx ON conversations USING gin (state);
