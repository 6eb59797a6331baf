package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * vacuum.dead_tuples: a table whose dead rows passed the point where autovacuum should have vacuumed it
 * (its own threshold: autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor x reltuples, per-table
 * settings first) and that has not been vacuumed for {@link #GRACE} and is not being vacuumed now.
 * Autovacuum is off for it, or cannot keep up (too few workers, cost limits, a held-back xmin horizon).
 */
final class DeadTuples implements Check {
    static final Duration GRACE = Duration.ofHours(1);
    static final long MIN_DEAD_ROWS = 1_000; // below this the space and the scan cost are negligible

    private static final Query CANDIDATES = new Query("doctor.dead_tuples", """
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name, s.n_live_tup, s.n_dead_tup,
                   greatest(c.reltuples, 0) AS reltuples,
                   coalesce(o.threshold, current_setting('autovacuum_vacuum_threshold')::float8) AS threshold,
                   coalesce(o.scale, current_setting('autovacuum_vacuum_scale_factor')::float8) AS scale_factor,
                   current_setting('autovacuum')::bool AND coalesce(o.enabled, true) AS autovacuum,
                   greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
                   EXISTS (SELECT 1 FROM pg_stat_progress_vacuum p WHERE p.relid = c.oid) AS vacuuming
              FROM pg_stat_user_tables s
              JOIN pg_class c ON c.oid = s.relid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (
                  SELECT max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_threshold')::float8 AS threshold,
                         max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_scale_factor')::float8 AS scale,
                         max(option_value) FILTER (WHERE option_name = 'autovacuum_enabled')::bool AS enabled
                    FROM pg_options_to_table(c.reloptions)) o
             WHERE c.relkind IN ('r', 'm') AND s.n_dead_tup >= ?
             ORDER BY s.n_dead_tup DESC""");

    @Override
    public String id() {
        return "vacuum.dead_tuples";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Instant cutoff = inspection.server().now().minus(GRACE);
        List<Finding> findings = new ArrayList<>();
        for (var row : inspection.list(CANDIDATES, Candidate::map, MIN_DEAD_ROWS)) {
            double trigger = row.threshold() + row.scaleFactor() * row.reltuples();
            boolean recentlyVacuumed = row.lastVacuum() != null && row.lastVacuum().isAfter(cutoff);
            if (row.dead() <= trigger || row.vacuuming() || recentlyVacuumed) {
                continue;
            }
            double ratio = (double) row.dead() / Math.max(1, row.dead() + row.live());
            findings.add(new Finding(id(), Severity.WARNING, row.table(),
                    row.table() + " holds " + Pretty.count(row.dead()) + " dead rows (" + Pretty.percent(ratio)
                            + "), past its autovacuum trigger of " + Pretty.count((long) trigger) + ", and "
                            + (row.lastVacuum() == null ? "has never been vacuumed" : "was last vacuumed at " + row.lastVacuum())
                            + (row.autovacuum() ? "" : "; autovacuum is off for it"),
                    new Evidence().with("dead_rows", row.dead()).with("live_rows", row.live())
                            .with("dead_ratio", Math.round(ratio * 1000) / 1000.0)
                            .with("autovacuum_trigger", (long) trigger)
                            .with("autovacuum_vacuum_threshold", row.threshold())
                            .with("autovacuum_vacuum_scale_factor", row.scaleFactor())
                            .with("autovacuum_enabled", row.autovacuum())
                            .with("last_vacuum", row.lastVacuum() == null ? "never" : row.lastVacuum().toString()),
                    Fix.automatic("VACUUM (ANALYZE) " + row.table() + ";")));
        }
        return findings;
    }

    private record Candidate(String table, long live, long dead, double reltuples, double threshold, double scaleFactor,
                             boolean autovacuum, Instant lastVacuum, boolean vacuuming) {
        static Candidate map(ResultSet row) throws SQLException {
            Timestamp last = row.getTimestamp("last_vacuum");
            return new Candidate(row.getString("table_name"), row.getLong("n_live_tup"), row.getLong("n_dead_tup"),
                    row.getDouble("reltuples"), row.getDouble("threshold"), row.getDouble("scale_factor"),
                    row.getBoolean("autovacuum"), last == null ? null : last.toInstant(), row.getBoolean("vacuuming"));
        }
    }
}
