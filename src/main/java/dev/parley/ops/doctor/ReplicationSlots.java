package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;

/**
 * runtime.replication_slots: an inactive replication slot. Nobody consumes it, yet it keeps every WAL
 * segment since its restart point (the disk fills) and, with an xmin, holds back VACUUM. A slot whose WAL
 * was already removed (wal_status lost) can never be used again: critical, drop it.
 */
final class ReplicationSlots implements Check {
    private static final Query INACTIVE = new Query("doctor.replication_slots", """
            SELECT slot_name, slot_type, database, wal_status,
                   CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END::bigint AS retained_bytes,
                   greatest(age(xmin), age(catalog_xmin)) AS xmin_age
              FROM pg_replication_slots
             WHERE NOT active
             ORDER BY slot_name""");

    @Override
    public String id() {
        return "runtime.replication_slots";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.list(INACTIVE, row -> {
            String slot = row.getString("slot_name");
            long retained = row.getLong("retained_bytes");
            String walStatus = row.getString("wal_status");
            boolean lost = "lost".equals(walStatus);
            return new Finding(id(), lost ? Severity.CRITICAL : Severity.WARNING, slot,
                    lost ? "replication slot " + slot + " is inactive and has lost the WAL it needs: it can never be used again"
                            : "replication slot " + slot + " is inactive and retains " + Pretty.bytes(retained)
                                    + " of WAL" + (row.getObject("xmin_age") != null ? " and holds back VACUUM" : "")
                                    + "; drop it if its consumer is gone",
                    new Evidence().with("slot_type", row.getString("slot_type")).with("database", row.getString("database"))
                            .with("wal_status", walStatus).with("retained_wal", Pretty.bytes(retained))
                            .with("retained_wal_bytes", retained).with("xmin_age", row.getObject("xmin_age")),
                    Fix.manual("SELECT pg_drop_replication_slot(" + Sql.literal(slot) + ");"));
        });
    }
}
