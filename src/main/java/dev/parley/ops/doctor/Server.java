package dev.parley.ops.doctor;

import dev.parley.db.Handle;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;

/**
 * What the doctor knows about the server and its own role before any check runs. {@code statsSince}
 * is when the usage counters began: the database's last statistics reset, or, if it was never
 * reset, the start of the cluster's statistics (a database created later has counted for less).
 */
public record Server(String version, int versionNumber, String database, String user, boolean superuser,
                     boolean monitor, boolean inRecovery, Instant now, Instant statsSince, boolean statsReset,
                     String address) {
    static final int MINIMUM_VERSION = 150000;

    private static final Query READ = new Query("doctor.server", """
            SELECT current_setting('server_version') AS version,
                   current_setting('server_version_num')::int AS version_number,
                   current_database() AS database, current_user AS role,
                   r.rolsuper AS superuser,
                   pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
                   pg_is_in_recovery() AS in_recovery,
                   now() AS now,
                   (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS database_reset,
                   (SELECT stats_reset FROM pg_stat_bgwriter) AS cluster_stats_start,
                   inet_server_addr()::text AS address
              FROM pg_roles r
             WHERE r.rolname = current_user""");

    static Server read(Handle handle) throws SQLException {
        return handle.first(READ, row -> {
            Timestamp databaseReset = row.getTimestamp("database_reset");
            Timestamp clusterStart = row.getTimestamp("cluster_stats_start");
            Instant now = row.getTimestamp("now").toInstant();
            Instant since = databaseReset != null ? databaseReset.toInstant()
                    : clusterStart != null ? clusterStart.toInstant() : now;
            return new Server(row.getString("version"), row.getInt("version_number"), row.getString("database"),
                    row.getString("role"), row.getBoolean("superuser"), row.getBoolean("monitor"),
                    row.getBoolean("in_recovery"), now, since, databaseReset != null, row.getString("address"));
        }).orElseThrow();
    }

    /** How long the usage counters (index scans, sequential scans, block reads) have been counting. */
    public Duration statsCoverage() {
        return Duration.between(statsSince, now);
    }

    String statsDescription() {
        return "since " + statsSince + " (" + Pretty.duration(statsCoverage())
                + (statsReset ? ", last reset of this database's statistics)"
                        : ", never reset: counted from the cluster's statistics start)");
    }
}
