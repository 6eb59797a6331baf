package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * runtime.replication_lag: on a primary, a standby whose replay is behind by more than the lag limit
 * (a minute by default) or by more than {@value #LAG_BYTES_TEXT} of WAL; on a standby, replay that is
 * paused, or received WAL not replayed for longer than the limit. Reads from a lagging replica return
 * old data; a replica that cannot keep up also holds WAL on the primary if it uses a slot.
 */
final class ReplicationLag implements Check {
    static final long LAG_BYTES = 1L << 30;
    static final String LAG_BYTES_TEXT = "1 GB";

    private static final Query STANDBYS = new Query("doctor.replication_standbys", """
            SELECT coalesce(nullif(application_name, ''), client_addr::text, 'pid ' || pid) AS standby, state,
                   extract(epoch FROM replay_lag) AS replay_lag_seconds,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS bytes_behind
              FROM pg_stat_replication""");

    private static final Query REPLAY = new Query("doctor.replication_replay", """
            SELECT pg_get_wal_replay_pause_state() AS pause_state,
                   pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn() AS behind,
                   extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS replay_delay_seconds,
                   pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS bytes_behind""");

    @Override
    public String id() {
        return "runtime.replication_lag";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        double limit = inspection.limits().replicationLag().toMillis() / 1000.0;
        return inspection.server().inRecovery() ? standby(inspection, limit) : primary(inspection, limit);
    }

    private record Standby(String name, String state, double lagSeconds, long bytesBehind) {
    }

    private List<Finding> primary(Inspection inspection, double limit) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        for (Standby standby : inspection.list(STANDBYS, row -> new Standby(row.getString("standby"), row.getString("state"),
                row.getDouble("replay_lag_seconds"), row.getLong("bytes_behind")))) {
            if (standby.lagSeconds() >= limit || standby.bytesBehind() >= LAG_BYTES) {
                findings.add(new Finding(id(), Severity.WARNING, "standby " + standby.name(),
                        "standby " + standby.name() + " replays " + Pretty.seconds(standby.lagSeconds()) + " ("
                                + Pretty.bytes(standby.bytesBehind()) + " of WAL) behind this primary: reads there return old data",
                        new Evidence().with("state", standby.state()).with("replay_lag_seconds", Math.round(standby.lagSeconds()))
                                .with("bytes_behind", standby.bytesBehind()),
                        Fix.manual("-- look at the standby: its disk, its CPU, and long queries there that conflict with "
                                + "replay (max_standby_streaming_delay, hot_standby_feedback)")));
            }
        }
        return findings;
    }

    private List<Finding> standby(Inspection inspection, double limit) throws SQLException {
        return inspection.one(REPLAY, row -> {
            String pause = row.getString("pause_state");
            double delay = row.getDouble("replay_delay_seconds");
            long bytes = row.getLong("bytes_behind");
            Evidence evidence = new Evidence().with("replay_pause_state", pause)
                    .with("replay_delay_seconds", Math.round(delay)).with("bytes_received_not_replayed", bytes);
            if (!"not paused".equals(pause)) {
                return List.of(new Finding(id(), Severity.WARNING, "this standby",
                        "WAL replay on this standby is " + pause + ": it serves data frozen at that point",
                        evidence, Fix.manual("SELECT pg_wal_replay_resume();")));
            }
            if (row.getBoolean("behind") && delay >= limit) {
                return List.of(new Finding(id(), Severity.WARNING, "this standby",
                        "this standby has " + Pretty.bytes(bytes) + " of received WAL not replayed and last replayed a "
                                + "transaction " + Pretty.seconds(delay) + " ago",
                        evidence, Fix.manual("-- look for queries here that conflict with replay, and at this machine's disk")));
            }
            return List.of();
        });
    }
}
