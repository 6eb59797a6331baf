-- Months past the hot set move here (issue 13): still read by history paging back, by a message's
-- own id and by search with include_archived, never by context or inbox.
--
-- An archived month keeps every column but the stored words (half a row: 377 of 737 bytes on the
-- 2M bench dataset), and two indexes: its primary key, and the words index, built on the words as
-- computed (the hot months' function, with the scope tokens). Without that index a search of the
-- app's archive read every archived message (18-21 s for 700k on the bench dataset); with it, 26-81
-- ms. Six archived months took 273 MB without it and 354 MB with it, against 711 MB hot.
-- docs/benchmarks.md, "The archive".
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

CREATE INDEX messages_words_idx ON parley_archive.messages
    USING gin (parley_message_words(language, content, app_id, user_id, conversation_id)) WITH (fastupdate = off);

-- While a month is copied into the archive, writes to it are refused (an edit would be lost in the
-- copy): the client is told to retry in a moment, and then finds the message archived, read-only.
CREATE FUNCTION parley_refuse_writes_while_archiving() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'month % is being archived', TG_TABLE_NAME USING ERRCODE = 'PA001';
END $$;
