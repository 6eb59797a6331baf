-- A member's unread count was the conversation's last_seq less their read_seq: a message deleted after it was
-- sent stayed counted until their marker moved past it. A conversation now keeps the sequence numbers of its
-- deleted messages, and an unread count leaves out those past the member's marker (chat/ReadMarkers.java,
-- unreadCount). Null, as in almost every conversation: none deleted.
ALTER TABLE conversations ADD COLUMN deleted_seqs bigint[];

-- Retention removes a conversation's oldest messages, so what it took is every seq up to one: counts start
-- there, for a member who had not read that far (lifecycle/Retention.java). 0: retention took nothing.
ALTER TABLE conversations ADD COLUMN expired_seq bigint NOT NULL DEFAULT 0;

-- deleted_seqs once the messages numbered `gone` are deleted, newest first. Only the newest 1,000 are kept, so
-- a count costs at most that many comparisons: a member more than 1,000 deletes behind counts the older ones
-- as unread, as before. None read by everyone can be dropped: a guest who joins later starts from seq 0.
CREATE FUNCTION parley_deleted_seqs(kept bigint[], gone bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY(SELECT DISTINCT s FROM unnest(coalesce(kept, '{}') || gone) s ORDER BY s DESC LIMIT 1000)
$$;
