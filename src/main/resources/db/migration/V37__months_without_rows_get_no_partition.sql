-- A month gets a partition of messages only when it holds rows (or is the current month or one of the next few).
-- An import of one message from years ago used to make a partition for every month between it and now (hundreds of
-- empty ones, which every new connection then planned against). Now the months between stay without a partition,
-- and this table says which ranges of message ids are such gaps: a write with an original time in one makes its
-- month first (Partitions.java). A range of ids that no partition takes and that is no gap is an archived month (or
-- one dropped from the archive), which takes no writes, as before.
--
-- Ranges never overlap one another nor any partition; Partitions keeps them merged, under its advisory lock.
CREATE TABLE partition_gaps (
    from_id bigint PRIMARY KEY,
    to_id   bigint NOT NULL,
    CHECK (from_id < to_id)
);
