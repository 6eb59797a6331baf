-- Conversations between one user and one or more characters (group chats), with the
-- denormalised last-message pointer that makes the inbox an index scan.

CREATE TABLE conversations (
    app_id            bigint      NOT NULL,
    -- Time-ordered like message ids and drawn from the same generator, so no message of this
    -- conversation has a smaller id: history scans never need partitions older than this.
    conversation_id   bigint      NOT NULL,
    user_id           bigint      NOT NULL,
    character_id      bigint      NOT NULL,
    last_seq          bigint      NOT NULL DEFAULT 0,
    message_count     bigint      NOT NULL DEFAULT 0,
    last_message_id   bigint,
    -- The inbox sort key: last_message_id, or conversation_id before the first message.
    activity_id       bigint      NOT NULL,
    created_at        timestamptz NOT NULL,
    last_activity_at  timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    is_group          boolean     NOT NULL DEFAULT false,
    last_message_role text,
    last_message_preview text,
    title             text,
    state             jsonb       NOT NULL DEFAULT '{}',
    counters          jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (app_id, conversation_id),
    FOREIGN KEY (app_id, user_id) REFERENCES users ON DELETE CASCADE,
    FOREIGN KEY (app_id, character_id) REFERENCES characters
) WITH (fillfactor = 80); -- room for HOT updates of state, counters and previews

-- query inbox.page: a user's conversations by last activity, newest first, keyset paginated
CREATE INDEX conversations_inbox_idx ON conversations (app_id, user_id, activity_id, conversation_id);
-- query conversation.list_by_character: a character's conversations, newest first; also serves
-- the foreign key to characters. Kept to three indexes in all: every append moves activity_id,
-- which is indexed, so each append writes one entry into every index of this table.
CREATE INDEX conversations_character_idx ON conversations (app_id, character_id, conversation_id);

-- Who takes part in a conversation, and how far each has read: one row for the user and one per character.
CREATE TABLE conversation_members (
    app_id           bigint      NOT NULL,
    conversation_id  bigint      NOT NULL,
    member_id        bigint      NOT NULL,
    read_seq         bigint      NOT NULL DEFAULT 0,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    read_at          timestamptz,
    member_kind      text        NOT NULL CHECK (member_kind IN ('user', 'character')),
    PRIMARY KEY (app_id, conversation_id, member_kind, member_id),
    FOREIGN KEY (app_id, conversation_id) REFERENCES conversations ON DELETE CASCADE
) WITH (fillfactor = 80); -- read markers move on every read: keep those updates HOT
