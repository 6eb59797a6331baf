-- V26 kept a conversation's newest 1,000 deleted seqs in the row, and a member more than 1,000 deletes behind counted
-- the older ones as unread. The list still holds 1,000; what it outgrows moves to the table below, and the row's
-- spilled_seq is the newest seq there. An unread count reads the table only for a member whose marker is below
-- spilled_seq (chat/ReadMarkers.java, unreadCount): every other count reads the row alone, as before.
CREATE TABLE conversation_deleted_seqs (
    app_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (app_id, conversation_id, seq),
    FOREIGN KEY (app_id, conversation_id) REFERENCES conversations ON DELETE CASCADE
);

ALTER TABLE conversations ADD COLUMN spilled_seq bigint NOT NULL DEFAULT 0;

-- The whole list, newest first: the trigger below keeps the newest 1,000 of it in the row.
CREATE OR REPLACE FUNCTION parley_deleted_seqs(kept bigint[], gone bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY(SELECT DISTINCT s FROM unnest(coalesce(kept, '{}') || gone) s ORDER BY s DESC)
$$;

-- Only statements that set deleted_seqs fire it (deletes and erasure), never an append's update of the row. A seq
-- in the table already (a soft delete made hard later) is not listed again, so no deleted message counts twice.
CREATE FUNCTION parley_spill_deleted_seqs() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.spilled_seq > 0 THEN
        NEW.deleted_seqs := ARRAY(
            SELECT s FROM unnest(NEW.deleted_seqs) s
             WHERE s > NEW.spilled_seq
                OR NOT EXISTS (SELECT 1 FROM conversation_deleted_seqs d
                                WHERE d.app_id = NEW.app_id AND d.conversation_id = NEW.conversation_id AND d.seq = s)
             ORDER BY s DESC);
    END IF;
    IF cardinality(NEW.deleted_seqs) > 1000 THEN
        INSERT INTO conversation_deleted_seqs (app_id, conversation_id, seq)
        SELECT NEW.app_id, NEW.conversation_id, s FROM unnest(NEW.deleted_seqs[1001:]) s;
        NEW.spilled_seq := greatest(NEW.spilled_seq, NEW.deleted_seqs[1001]);
        NEW.deleted_seqs := NEW.deleted_seqs[1:1000];
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_spill_deleted_seqs BEFORE UPDATE OF deleted_seqs ON conversations
    FOR EACH ROW EXECUTE FUNCTION parley_spill_deleted_seqs();
