package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * vacuum.stale_statistics: the planner estimates from statistics that ANALYZE gathers. Reported, for
 * tables of {@value #MIN_ROWS} rows or more: a table never analysed; a table changed by more than twice its autoanalyze trigger and not
 * analysed for a day; and partitioned tables, which autovacuum never analyses at all, so their own
 * statistics (used for every query that is not pruned to one partition) exist only if someone runs
 * ANALYZE on them: never analysed is a warning, older than their partitions' by a week is worth knowing.
 * "Never analysed" means pg_statistic holds nothing for the table: a crash or pg_stat_reset() clears
 * last_(auto)analyze but not the statistics themselves, so a table with statistics and no ANALYZE recorded is
 * info (their age is unknown, and autovacuum counts changes from zero again: PostgreSQL advises an ANALYZE).
 */
final class StaleStatistics implements Check {
    static final Duration STALE_AFTER = Duration.ofDays(1);
    static final Duration PARENT_LAG = Duration.ofDays(7);
    static final long MIN_ROWS = 1_000; // below this the planner's guesses cost little

    private static final Query CANDIDATES = new Query("doctor.stale_statistics", RowEstimate.in(RowEstimate.in("""
            SELECT format('%I.%I', n.nspname, c.relname) AS table_name, c.relkind = 'p' AS partitioned,
                   greatest(s.last_analyze, s.last_autoanalyze) AS last_analyzed,
                   CASE WHEN has_table_privilege('pg_catalog.pg_statistic', 'SELECT')
                            THEN EXISTS (SELECT 1 FROM pg_statistic st WHERE st.starelid = c.oid)
                        WHEN has_table_privilege(c.oid, 'SELECT')
                            THEN EXISTS (SELECT 1 FROM pg_stats st WHERE st.schemaname = n.nspname AND st.tablename = c.relname)
                   END AS has_statistics,
                   :rows(c)::bigint AS table_rows, s.n_mod_since_analyze,
                   greatest(c.reltuples, 0) AS reltuples,
                   coalesce(o.threshold, current_setting('autovacuum_analyze_threshold')::float8) AS threshold,
                   coalesce(o.scale, current_setting('autovacuum_analyze_scale_factor')::float8) AS scale_factor,
                   CASE WHEN c.relkind = 'p' THEN
                       (SELECT coalesce(sum(:rows(x)), 0)::bigint
                          FROM pg_partition_tree(c.oid) p JOIN pg_class x ON x.oid = p.relid WHERE p.isleaf) END AS partition_rows,
                   CASE WHEN c.relkind = 'p' THEN
                       (SELECT max(greatest(pg_stat_get_last_analyze_time(p.relid), pg_stat_get_last_autoanalyze_time(p.relid)))
                          FROM pg_partition_tree(c.oid) p WHERE p.isleaf) END AS partitions_analyzed
              FROM pg_stat_user_tables s
              JOIN pg_class c ON c.oid = s.relid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (
                  SELECT max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_threshold')::float8 AS threshold,
                         max(option_value) FILTER (WHERE option_name = 'autovacuum_analyze_scale_factor')::float8 AS scale
                    FROM pg_options_to_table(c.reloptions)) o
             WHERE c.relkind IN ('r', 'm', 'p')
             ORDER BY 1""", "c"), "x"));

    @Override
    public String id() {
        return "vacuum.stale_statistics";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Instant now = inspection.server().now();
        List<Finding> findings = new ArrayList<>();
        for (var table : inspection.list(CANDIDATES, Candidate::map)) {
            if (table.lastAnalyzed() == null && table.hasStatistics() == null) {
                inspection.limit("this role can read neither pg_statistic nor some tables: one with no ANALYZE recorded "
                        + "is reported as never analysed, though a statistics reset or a crash may only have cleared that record");
            }
            (table.partitioned() ? parent(inspection, table) : plain(inspection, table, now)).ifPresent(findings::add);
        }
        return findings;
    }

    private Optional<Finding> plain(Inspection inspection, Candidate table, Instant now) {
        if (table.rows() < MIN_ROWS) {
            return Optional.empty();
        }
        if (table.lastAnalyzed() == null && Boolean.TRUE.equals(table.hasStatistics())) {
            return Optional.of(unrecorded(inspection, table, table.table() + " (about " + Pretty.count(table.rows()) + " rows)"));
        }
        if (table.lastAnalyzed() == null) {
            return Optional.of(finding(table, Severity.WARNING, table.table() + " holds about " + Pretty.count(table.rows())
                    + " rows but has never been analysed: the planner guesses its row counts and value distributions"));
        }
        double trigger = Math.max(table.threshold() + table.scaleFactor() * table.reltuples(), 1000);
        if (table.modified() > 2 * trigger && table.lastAnalyzed().isBefore(now.minus(STALE_AFTER))) {
            return Optional.of(finding(table, Severity.WARNING, table.table() + " had " + Pretty.count(table.modified())
                    + " rows changed since it was last analysed at " + table.lastAnalyzed()
                    + ", more than twice its autoanalyze trigger: autovacuum is not keeping its statistics current"));
        }
        return Optional.empty();
    }

    private Optional<Finding> parent(Inspection inspection, Candidate table) {
        if (table.partitionRows() < MIN_ROWS) {
            return Optional.empty();
        }
        if (table.lastAnalyzed() == null && Boolean.TRUE.equals(table.hasStatistics())) {
            return Optional.of(unrecorded(inspection, table, "partitioned table " + table.table() + " ("
                    + Pretty.count(table.partitionRows()) + " rows in its partitions)"));
        }
        if (table.lastAnalyzed() == null) {
            return Optional.of(finding(table, Severity.WARNING, "partitioned table " + table.table() + " ("
                    + Pretty.count(table.partitionRows()) + " rows in its partitions) has never been analysed: autovacuum "
                    + "does not analyse partitioned tables, so queries over several partitions are planned on guesses"));
        }
        if (table.partitionsAnalyzed() != null && table.lastAnalyzed().isBefore(table.partitionsAnalyzed().minus(PARENT_LAG))) {
            return Optional.of(finding(table, Severity.INFO, "partitioned table " + table.table()
                    + " was last analysed at " + table.lastAnalyzed() + ", more than " + PARENT_LAG.toDays()
                    + " days before its partitions: autovacuum never analyses it, schedule ANALYZE for it"));
        }
        return Optional.empty();
    }

    /** Statistics exist but no ANALYZE is recorded: the record was cleared by a statistics reset or a crash. */
    private Finding unrecorded(Inspection inspection, Candidate table, String described) {
        return finding(table, Severity.INFO, described + " has no ANALYZE recorded " + inspection.server().statsDescription()
                + ", though its planner statistics from an earlier one are there: a statistics reset or a crash clears the "
                + "record, and autovacuum counts changes from zero again, so their age is unknown; PostgreSQL advises an "
                + "ANALYZE after a reset");
    }

    private Finding finding(Candidate table, Severity severity, String summary) {
        return new Finding(id(), severity, table.table(), summary,
                new Evidence().with("last_analyzed", table.lastAnalyzed() != null ? table.lastAnalyzed().toString()
                                : Boolean.TRUE.equals(table.hasStatistics()) ? "none recorded" : "never")
                        .with("has_planner_statistics", table.hasStatistics())
                        .with("table_rows", table.partitioned() ? table.partitionRows() : table.rows())
                        .with("rows_changed_since_analyze", table.partitioned() ? null : table.modified())
                        .with("partitions_last_analyzed", table.partitionsAnalyzed() == null ? null
                                : table.partitionsAnalyzed().toString()),
                Fix.automatic("ANALYZE " + table.table() + ";"));
    }

    /** {@code hasStatistics} is null when this role can read neither pg_statistic nor the table's pg_stats rows. */
    private record Candidate(String table, boolean partitioned, Instant lastAnalyzed, Boolean hasStatistics, long rows, long modified,
                             double reltuples, double threshold, double scaleFactor, long partitionRows,
                             Instant partitionsAnalyzed) {
        static Candidate map(ResultSet row) throws SQLException {
            return new Candidate(row.getString("table_name"), row.getBoolean("partitioned"),
                    instant(row.getTimestamp("last_analyzed")), (Boolean) row.getObject("has_statistics"), row.getLong("table_rows"), row.getLong("n_mod_since_analyze"),
                    row.getDouble("reltuples"), row.getDouble("threshold"), row.getDouble("scale_factor"),
                    row.getLong("partition_rows"), instant(row.getTimestamp("partitions_analyzed")));
        }

        private static Instant instant(Timestamp timestamp) {
            return timestamp == null ? null : timestamp.toInstant();
        }
    }
}
