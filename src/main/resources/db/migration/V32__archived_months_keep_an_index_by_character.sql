-- A character's message list pages back into the archive, as a conversation's history does: archived
-- months keep the hot months' index by character (V13). Made on the archive's parent, so each month a
-- move attaches gets its own at the attach. On the 2M bench dataset, for six archived months (685k
-- messages): 13 MB beside the archive's 367 MB, built in 0.45 s.

-- query character.messages_archived: a character's archived messages newest first, below the hot months'
CREATE INDEX messages_character_idx ON parley_archive.messages (app_id, author_character_id, message_id)
    WHERE author_character_id IS NOT NULL;
