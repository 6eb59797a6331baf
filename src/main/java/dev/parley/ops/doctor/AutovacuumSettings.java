package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;

/**
 * vacuum.autovacuum_settings: per-table autovacuum settings that do not suit the table. A table with
 * autovacuum switched off collects dead rows and stale statistics until someone remembers it (and its
 * anti-wraparound vacuum still comes, unplanned). A large table whose whole row count has been updated
 * or deleted since the statistics began, still on the default scale factor, waits for a fifth of its
 * rows to be dead before each vacuum: a per-table scale factor makes vacuums smaller and more frequent.
 */
final class AutovacuumSettings implements Check {
    static final long HIGH_CHURN_ROWS = 100_000;
    static final double SUGGESTED_VACUUM_SCALE = 0.02;
    static final double SUGGESTED_ANALYZE_SCALE = 0.01;

    private static final Query CANDIDATES = new Query("doctor.autovacuum_settings", RowEstimate.in("""
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
                   :rows(c)::bigint AS table_rows,
                   s.n_tup_upd + s.n_tup_del AS churn, o.enabled,
                   current_setting('autovacuum_vacuum_scale_factor')::float8 AS default_scale
              FROM pg_stat_user_tables s
              JOIN pg_class c ON c.oid = s.relid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (
                  SELECT max(option_value) FILTER (WHERE option_name = 'autovacuum_vacuum_scale_factor') AS scale,
                         max(option_value) FILTER (WHERE option_name = 'autovacuum_enabled')::bool AS enabled
                    FROM pg_options_to_table(c.reloptions)) o
             WHERE c.relkind IN ('r', 'm')
               AND ((o.enabled = false AND :rows(c) > 0)
                    OR (:rows(c) >= ? AND s.n_tup_upd + s.n_tup_del >= :rows(c)
                        AND o.scale IS NULL AND current_setting('autovacuum_vacuum_scale_factor')::float8 >= 0.1))
             ORDER BY 1""", "c"));

    @Override
    public String id() {
        return "vacuum.autovacuum_settings";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.list(CANDIDATES, row -> {
            String table = row.getString("table_name");
            long rows = row.getLong("table_rows");
            Evidence evidence = new Evidence().with("table_rows", rows).with("rows_updated_or_deleted", row.getLong("churn"));
            if (Boolean.FALSE.equals(row.getObject("enabled"))) {
                return new Finding(id(), Severity.WARNING, table,
                        "autovacuum is switched off for " + table + " (autovacuum_enabled = false): its dead rows and "
                                + "statistics are left to manual VACUUM and ANALYZE",
                        evidence.with("autovacuum_enabled", false),
                        Fix.manual("ALTER TABLE " + table + " RESET (autovacuum_enabled);"));
            }
            double scale = row.getDouble("default_scale");
            return new Finding(id(), Severity.INFO, table,
                    table + " had " + Pretty.count(row.getLong("churn")) + " rows updated or deleted against "
                            + Pretty.count(rows) + " rows, yet autovacuum waits for " + Pretty.count((long) (scale * rows))
                            + " dead rows (scale factor " + scale + ") before vacuuming it",
                    evidence.with("autovacuum_vacuum_scale_factor", scale),
                    Fix.manual("ALTER TABLE " + table + " SET (autovacuum_vacuum_scale_factor = " + SUGGESTED_VACUUM_SCALE
                            + ", autovacuum_analyze_scale_factor = " + SUGGESTED_ANALYZE_SCALE + ");"));
        }, HIGH_CHURN_ROWS);
    }
}
