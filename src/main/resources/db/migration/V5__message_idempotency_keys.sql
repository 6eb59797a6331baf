-- Idempotency-Key support for appends: a retried append returns the message the first attempt
-- stored. A separate table because a unique index on the partitioned messages table would have
-- to include the partition key, and then it would no longer make the key unique.
CREATE TABLE message_idempotency_keys (
    app_id           bigint      NOT NULL,
    conversation_id  bigint      NOT NULL,
    message_id       bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    request_hash     bytea       NOT NULL,  -- SHA-256 of the request, to refuse a key reused for different content
    idempotency_key  text        NOT NULL,
    -- query append.find_replays
    PRIMARY KEY (app_id, conversation_id, idempotency_key)
);

-- query idempotency.purge_expired: keys are kept for a retention window, then dropped in bulk
CREATE INDEX message_idempotency_keys_created_brin ON message_idempotency_keys USING brin (created_at);
