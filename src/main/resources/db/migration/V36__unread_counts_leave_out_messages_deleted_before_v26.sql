-- V26 made unread counts leave out the seqs a conversation lists as deleted (deleted_seqs, and past 1,000 the
-- conversation_deleted_seqs of V28), but listed only those deleted from then on: a message soft-deleted (deleted_at
-- set) or hard-deleted (its row gone, a gap in the conversation's seqs) by a build before V26 stayed unread for
-- every member whose marker was below it, for good (a badge of 5 where 3 messages were left to read). This lists
-- them as a delete on this build would have, through parley_deleted_seqs and V28's trigger, as the delete paths do:
-- the newest 1,000 in the row, the rest in conversation_deleted_seqs; a seq listed already is not listed twice.
--
-- Only seqs past the lowest marker of the conversation's members are listed, and past expired_seq (counts start
-- there): a seq at or below every marker counts as unread for none of them. A conversation with no member row for
-- its user (inbox and stats count that user from seq 0) counts from 0. Members who come later can still count the
-- older ones: a guest added afterwards starts from seq 0, and a former member added back from their own newest
-- message. A conversation whose oldest messages an old build's retention took (expired_seq 0 then) has those seqs
-- listed too where a marker is below them: the count is the same as expired_seq would give.
--
-- A window's messages are read newest first by the primary key (app_id, conversation_id, message_id), at most
-- last_seq - floor of them (ids follow seqs within a conversation: an append takes both under the conversation's
-- lock, as retention's expired_seq relies on too). Archived months matter: an archived message is not a deleted one,
-- and the window of a conversation idle since before the hot set (its last unread message archived) is in the
-- archive. Most windows are a few recent messages, all hot, and then the archive is not read.
-- updated_at is left alone (no one changed the conversation); the rows' change notices go out as for any update.
--
-- Cost, once (Flyway records it and never runs it again): one pass over conversations with an index probe of
-- conversation_members each, then for each conversation with an unread window an index probe per month back to
-- the window's start; the messages of a conversation every member has read are never read. Measured on the 1M
-- message bench dataset (25k conversations, 6,248 with a window of 18,915 seqs in all, months older than 6 archived,
-- 2% of messages deleted by hand as an old build left them): 0.55 s, 2.7 s where PostgreSQL's JIT compiles it
-- first; 329 conversations updated. It locks only the rows it updates; appends to them wait for its commit.
-- A window of more than 10,000 seqs is left as it is: an app that sets no read markers (a bot swarm) would have every
-- conversation's whole history read here, all its messages, while the port stays closed; past 10,000 unread, a few
-- deleted ones more in the count is what a badge ("9999+") does not show.
WITH windows AS MATERIALIZED (
    SELECT c.app_id, c.conversation_id, c.last_seq, greatest(c.expired_seq, coalesce(marks.lowest, 0)) AS floor
      FROM conversations c
      CROSS JOIN LATERAL (
            SELECT least(min(mb.read_seq),
                         CASE WHEN bool_or(mb.member_kind = 'user' AND mb.member_id = c.user_id) THEN NULL ELSE 0 END) AS lowest
              FROM conversation_members mb
             WHERE mb.app_id = c.app_id AND mb.conversation_id = c.conversation_id) marks
     WHERE c.last_seq > greatest(c.expired_seq, coalesce(marks.lowest, 0))
       AND c.last_seq - greatest(c.expired_seq, coalesce(marks.lowest, 0)) <= 10000),
-- The newest last_seq - floor messages, hot months first: archived months are older than every hot one, so the
-- archive is read only when the hot months hold fewer (the window has gaps, or reaches back past them).
found AS MATERIALIZED (
    SELECT w.app_id, w.conversation_id,
           ARRAY(SELECT s FROM generate_series(w.floor + 1, w.last_seq) s
                 EXCEPT
                 SELECT newest.seq FROM (
                        SELECT both_tables.seq, both_tables.deleted_at FROM (
                            (SELECT m.seq, m.deleted_at FROM messages m
                              WHERE m.app_id = w.app_id AND m.conversation_id = w.conversation_id
                              ORDER BY m.message_id DESC LIMIT w.last_seq - w.floor)
                            UNION ALL
                            (SELECT m.seq, m.deleted_at FROM parley_archive.messages m
                              WHERE m.app_id = w.app_id AND m.conversation_id = w.conversation_id
                              ORDER BY m.message_id DESC LIMIT w.last_seq - w.floor)) both_tables
                         LIMIT w.last_seq - w.floor) newest
                  WHERE newest.deleted_at IS NULL) AS seqs
      FROM windows w)
UPDATE conversations c
   SET deleted_seqs = parley_deleted_seqs(c.deleted_seqs, f.seqs)
  FROM found f
 WHERE c.app_id = f.app_id AND c.conversation_id = f.conversation_id
   AND cardinality(f.seqs) > 0
   AND NOT (f.seqs <@ coalesce(c.deleted_seqs, '{}'));
