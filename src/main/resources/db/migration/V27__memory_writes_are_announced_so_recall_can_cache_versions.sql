-- Recall kept every scope's vectors in memory but read the scope's version from memory_scopes on every call,
-- to learn whether a write on any instance had made them stale: a statement a recall, most of what PostgreSQL
-- did for it. Every memory write moves its scope's row here in its own transaction (memory/Memories.java,
-- touchScope; lifecycle/Erasure.java), so these triggers announce each such change as the change of the user's
-- cached views ("u:app:user", V10's function for users), and recall keeps the versions it read with the user's
-- views (memory/Recall.java): an instance hears of another's memory write as it hears of a profile update.
CREATE TRIGGER memory_scopes_inserted AFTER INSERT ON memory_scopes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users();
CREATE TRIGGER memory_scopes_updated AFTER UPDATE ON memory_scopes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users();
CREATE TRIGGER memory_scopes_deleted AFTER DELETE ON memory_scopes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_announce_users();
