package dev.parley.db;

/**
 * Which database this is, as Redis keys name it: its server's system identifier (made by initdb, kept by
 * its physical standbys) and the database's OID there. Instances of one database share what they keep in
 * Redis; deployments of two databases that share a Redis and a key prefix must not, since their ids
 * overlap (each has its app 1 and its character 1). A database copied logically (a restore, CREATE
 * DATABASE … TEMPLATE) gets an OID of its own, and so keys of its own. A physical copy (a file copy, a base
 * backup, a snapshot) keeps both, and nothing tells it from the original: it needs a prefix of its own.
 */
public final class DatabaseIdentity {
    static final Query IDENTITY = new Query("database.identity", """
            SELECT (SELECT system_identifier FROM pg_control_system()) || '.'
                   || (SELECT oid FROM pg_database WHERE datname = current_database())""");
    // Where a managed server denies pg_control_system: the database's name and the random id made when it was migrated
    // (V42) stand for the server's identifier; name and OID alone are the same on two servers set up the same way.
    static final Query IDENTITY_BY_NAME = new Query("database.identity_by_name", """
            SELECT current_database() || '.' || oid || '.' || (SELECT random_id FROM parley_deployment)
              FROM pg_database WHERE datname = current_database()""");
    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private DatabaseIdentity() {
    }

    /**
     * "7716237679874287763.16384": the server's system identifier and the database's OID ("parley.16384." and the
     * database's random id where the server lets no one read its identifier).
     */
    public static String of(Database database) {
        try {
            return database.read(handle -> handle.first(IDENTITY, row -> row.getString(1)).orElseThrow());
        } catch (DatabaseFailure e) {
            if (!INSUFFICIENT_PRIVILEGE.equals(e.sqlState())) {
                throw e;
            }
            return database.read(handle -> handle.first(IDENTITY_BY_NAME, row -> row.getString(1)).orElseThrow());
        }
    }
}
