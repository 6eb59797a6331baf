-- Months past the hot set move here (issue 13): still read by history paging back, by a message's
-- own id and by search with include_archived, never by context or inbox.
--
-- An archived month keeps every column but the stored words (half a row: 377 of 737 bytes on the
-- 2M bench dataset) and no index but its primary key (the words index alone is half the month's
-- indexes): search computes an archived message's words when it reads it. See Archive.
CREATE SCHEMA parley_archive;

CREATE TABLE parley_archive.messages (
    app_id               bigint      NOT NULL,
    conversation_id      bigint      NOT NULL,
    message_id           bigint      NOT NULL,
    seq                  bigint      NOT NULL,
    reply_to_id          bigint,
    author_user_id       bigint,
    author_character_id  bigint,
    created_at           timestamptz NOT NULL,
    edited_at            timestamptz,
    deleted_at           timestamptz,
    role                 text        NOT NULL,
    content              text        NOT NULL,
    metadata             jsonb,
    attachments          jsonb,
    user_id              bigint      NOT NULL,
    language             regconfig   NOT NULL,
    PRIMARY KEY (app_id, conversation_id, message_id)
) PARTITION BY RANGE (message_id);

-- While a month is copied into the archive, writes to it are refused (an edit would be lost in the
-- copy): the client is told to retry in a moment, and then finds the message archived, read-only.
CREATE FUNCTION parley_refuse_writes_while_archiving() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'month % is being archived', TG_TABLE_NAME USING ERRCODE = 'PA001';
END $$;
