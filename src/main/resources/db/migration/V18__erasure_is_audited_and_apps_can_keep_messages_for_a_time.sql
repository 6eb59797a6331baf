-- Deleting a conversation or a character, and erasing a user (issue 13).
--
-- Every deletion leaves a row here saying what was erased, when, on whose request (the API key's
-- public prefix) and how many rows of each kind: never what any of them said.
CREATE TABLE erasures (
    app_id        bigint      NOT NULL REFERENCES apps ON DELETE CASCADE,
    erasure_id    bigint GENERATED ALWAYS AS IDENTITY,
    erased_at     timestamptz NOT NULL,
    subject       text        NOT NULL CHECK (subject IN ('user', 'conversation', 'character')),
    subject_id    bigint      NOT NULL,
    requested_by  text        NOT NULL,
    counts        jsonb       NOT NULL,
    PRIMARY KEY (app_id, erasure_id)
);

-- A user removed from a group chat leaves their messages in it: erasing the user must still find
-- them, without an index over every message's author. One row per person who left a group.
CREATE TABLE conversation_former_members (
    app_id           bigint      NOT NULL,
    user_id          bigint      NOT NULL,
    conversation_id  bigint      NOT NULL,
    left_at          timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, conversation_id),
    FOREIGN KEY (app_id, conversation_id) REFERENCES conversations ON DELETE CASCADE
);

CREATE INDEX conversation_former_members_conversation_idx ON conversation_former_members (app_id, conversation_id);

-- A deleted conversation's memories are found by it; a deleted character's scopes by it.
CREATE INDEX memories_conversation_idx ON memories (app_id, conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX memory_scopes_character_idx ON memory_scopes (app_id, character_id);

-- How long an app keeps its messages: null keeps them for ever (the default); see Retention.
ALTER TABLE apps ADD COLUMN message_retention_days integer CHECK (message_retention_days BETWEEN 1 AND 36500);

-- Months of messages past every app's retention are detached into this schema, their conversations'
-- counts are made right, and then they are dropped; a crash between the steps leaves them here, and
-- the next round finishes them.
CREATE SCHEMA parley_retired;

-- A partition on its way out of messages (detached, then moved to another schema) is written down
-- first, so that a crash between the steps is finished by the next attempt instead of leaving a
-- month nobody looks after. One row per move under way; none most of the time.
CREATE TABLE partition_moves (
    partition_name  text        PRIMARY KEY,
    destination     text        NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now()
);
