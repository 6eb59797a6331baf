-- Filters on a conversation's messages, a character's messages across its conversations, and
-- counts over a time window. Messages are partitioned by month, so each index is created on the
-- parent and every partition (present and made ahead) gets its own. Each is paid for on every
-- append that writes an entry into it, so they are few and, where they can be, partial.

-- What a message's metadata is filtered by, with the conversation folded in as V6 folds scopes into
-- the words: {"c": <conversation>, "m": <metadata>}. "Messages of conversation 7 whose metadata
-- holds {"type":"image"}" is then one containment, {"c":7,"m":{"type":"image"}}, which GIN answers
-- by intersecting the conversation's posting list with the key's. A plain GIN on metadata would
-- leave PostgreSQL to choose between every image of the app and every message of the conversation.
CREATE FUNCTION parley_message_facets(conversation_id bigint, metadata jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_build_object('c', conversation_id, 'm', metadata);

-- query message.history_filtered (metadata=): only messages with metadata get entries, one per
-- key path plus one for the conversation; GIN's pending list batches them, so an append pays a
-- few list entries, not a tree descent per key.
CREATE INDEX messages_metadata_idx ON messages
    USING gin (parley_message_facets(conversation_id, metadata) jsonb_path_ops)
    WHERE metadata IS NOT NULL;

-- query message.history_filtered (has_attachments=true): only messages with attachments get an
-- entry, a few in a hundred; has_attachments=false reads the primary key and skips them.
CREATE INDEX messages_attachments_idx ON messages (app_id, conversation_id, message_id)
    WHERE attachments IS NOT NULL AND attachments <> '[]'::jsonb;

-- query character.messages_recent, character.messages_older, count.character_window, and
-- message.history_filtered (author_character_id=): a character's messages newest first, and how
-- many it wrote since an id (an index-only range). Users' own messages get no entry.
CREATE INDEX messages_character_idx ON messages (app_id, author_character_id, message_id)
    WHERE author_character_id IS NOT NULL;

-- query count.app_window: an app's messages since an id, an index-only range. Every append writes
-- an entry, always at the right edge of the current month's index, as the primary key's inserts do.
CREATE INDEX messages_app_time_idx ON messages (app_id, message_id);
