-- Messages, range-partitioned by month on a 64-bit time-ordered id.
--
-- An id is (milliseconds since 2000-01-01 UTC) << 22 | 22 bits that make it unique, so the id is
-- at once the primary key, the partition key and the pagination cursor, and a month is a range of ids.

-- Each nextval hands a Parley instance a block of ids' low bits (see Ids.java).
CREATE SEQUENCE parley_id_blocks;

CREATE FUNCTION parley_id_time(id bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN timestamptz '2000-01-01 00:00:00+00' + (id >> 22) * interval '1 millisecond';

CREATE TABLE messages (
    app_id               bigint      NOT NULL,
    conversation_id      bigint      NOT NULL,
    message_id           bigint      NOT NULL,
    seq                  bigint      NOT NULL,  -- 1, 2, 3 ... within the conversation, no gaps
    reply_to_id          bigint,
    author_user_id       bigint,
    author_character_id  bigint,
    created_at           timestamptz NOT NULL,
    edited_at            timestamptz,
    deleted_at           timestamptz,
    role                 text        NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content              text        NOT NULL,
    metadata             jsonb,
    attachments          jsonb,
    -- query message.history (last N, pages before/after a cursor), message.get, message.count
    PRIMARY KEY (app_id, conversation_id, message_id)
) PARTITION BY RANGE (message_id);

-- query message.replies: the thread under one message
CREATE INDEX messages_replies_idx ON messages (app_id, conversation_id, reply_to_id, message_id)
    WHERE reply_to_id IS NOT NULL;

-- Monthly partitions are made ahead of need by Partitions.java. Rows outside them land in two
-- catch-all partitions, which are reported when not empty. They are explicit MINVALUE/MAXVALUE
-- ranges rather than a DEFAULT partition: with a DEFAULT partition the planner cannot treat the
-- partitions as ordered, and "last 50 messages" becomes a sort over every partition instead of a
-- newest-first scan that stops after the first partition holding enough rows (docs/operations.md).
DO $$
DECLARE
    this_month bigint := ((extract(epoch FROM date_trunc('month', now(), 'UTC')) * 1000)::bigint
                          - 946684800000) << 22;
BEGIN
    EXECUTE format('CREATE TABLE messages_before PARTITION OF messages FOR VALUES FROM (MINVALUE) TO (%s)', this_month);
    EXECUTE format('CREATE TABLE messages_after PARTITION OF messages FOR VALUES FROM (%s) TO (MAXVALUE)', this_month);
END $$;
