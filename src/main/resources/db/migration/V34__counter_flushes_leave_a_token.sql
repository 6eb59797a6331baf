-- A write-behind counter flush whose connection breaks during its COMMIT cannot tell whether it landed:
-- written again it could count twice, given up it could lose a window of increments. Each flush now
-- inserts a token, keyed by the instance that wrote it and its flush number, in the same transaction
-- (chat/CounterBuffer.java). Such a flush is sent again with its token: if the token is there the
-- first attempt committed and nothing is written; if not, it did not, and it is written now. A token
-- still being committed holds the second insert until the first transaction ends, so the two cannot
-- both write. Tokens only matter for the seconds a flush is retried; maintenance drops those a day old.
CREATE TABLE counter_flushes (
    instance_id uuid NOT NULL,
    flush_seq bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, flush_seq)
);
