package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * index.unused: an index of 32 kB or more that no query has scanned since the statistics began, on a
 * table that holds rows.
 * Scans of a partitioned index are summed over its partitions. Indexes that enforce something (primary
 * key, unique, exclusion, replica identity, a foreign key's referenced key) are never reported.
 * Counters are per server: a replica's reads are not counted here, so the finding says so when the
 * server has replicas. Only after {@value #TRUSTED_DAYS} days of statistics is the finding a warning
 * (and --fix drops the index); before that a weekly job may simply not have run yet.
 * Parley's own indexes (made by its migrations, {@link ParleyIndexes}) are reported at info with no fix: Parley's
 * queries need them when the feature they serve is used (an archive search without its words index reads every
 * archived message), and later migrations drop them by name. A plain DROP INDEX of a partitioned index locks the
 * whole table and every partition (there is no CONCURRENTLY for it), which its fix says.
 */
final class UnusedIndexes implements Check {
    static final int TRUSTED_DAYS = 7;
    static final long WARNING_BYTES = 10L << 20; // PgHero's threshold: below it the write cost is small
    static final long MIN_BYTES = 32L << 10; // pganalyze's: an index of a few pages costs next to nothing

    /**
     * A table's rows are the planner's estimate ({@link RowEstimate}), not n_live_tup, which a crash sets back to 0: a
     * table of 122 rows read 22, and one not written to since read 0, its unused indexes then not reported at all.
     */
    private static final Query UNUSED = new Query("doctor.unused_indexes", RowEstimate.in("""
            WITH usage AS (
                SELECT coalesce(pg_partition_root(s.indexrelid), s.indexrelid) AS index_oid,
                       sum(s.idx_scan) AS scans, sum(pg_relation_size(s.indexrelid)) AS bytes,
                       sum(:rows(t))::bigint AS table_rows
                  FROM pg_stat_user_indexes s
                  JOIN pg_class t ON t.oid = s.relid
                 GROUP BY 1)
            SELECT format('%I.%I', n.nspname, ic.relname) AS index_name, format('%I.%I', n.nspname, tc.relname) AS table_name,
                   u.bytes, u.table_rows, ic.relkind = 'I' AS partitioned, pg_get_indexdef(i.indexrelid) AS definition,
                   (SELECT count(*) FROM pg_stat_replication) AS replicas,
                   n.nspname AS schema_name, tc.relname AS table_relname, ic.relname AS index_relname,
                   to_regprocedure(format('%I.parley_id_time(bigint)', n.nspname)) IS NOT NULL AS parley_schema
              FROM usage u
              JOIN pg_index i ON i.indexrelid = u.index_oid
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class tc ON tc.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = tc.relnamespace
             WHERE u.scans = 0 AND u.table_rows > 0 AND u.bytes >= ? AND i.indisvalid
               AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisreplident
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             ORDER BY u.bytes DESC, 1""", "t"));

    @Override
    public String id() {
        return "index.unused";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Server server = inspection.server();
        boolean trusted = server.statsCoverage().compareTo(Duration.ofDays(TRUSTED_DAYS)) >= 0;
        ParleyIndexes parleys = ParleyIndexes.ofThisBuild();
        return inspection.list(UNUSED, row -> {
            long bytes = row.getLong("bytes");
            long replicas = row.getLong("replicas");
            String index = row.getString("index_name");
            Optional<ParleyIndexes.Made> parley = parleys.madeBy(row.getString("schema_name"), row.getBoolean("parley_schema"),
                    row.getString("table_relname"), row.getString("index_relname"));
            if (parley.isPresent()) {
                return parleys(server, row, index, bytes, parley.get());
            }
            boolean warning = trusted && bytes >= WARNING_BYTES;
            String caveat = (trusted ? "" : "; the statistics cover only " + Pretty.duration(server.statsCoverage())
                    + ", wait " + TRUSTED_DAYS + " days before dropping it")
                    + (replicas > 0 ? "; scans on the " + replicas + " replica(s) are not counted here: check them too" : "");
            Fix fix = row.getBoolean("partitioned") ? Fix.manual("-- a partitioned index cannot be dropped CONCURRENTLY: DROP INDEX "
                    + "locks " + row.getString("table_name") + " and every partition against reads and writes until it ends",
                    "DROP INDEX " + index + ";")
                    : trusted ? Fix.automatic("DROP INDEX CONCURRENTLY " + index + ";")
                    : Fix.manual("DROP INDEX CONCURRENTLY " + index + ";");
            return new Finding(id(), warning ? Severity.WARNING : Severity.INFO, index,
                    index + " has not been scanned " + server.statsDescription() + " but is updated on every write to "
                            + row.getString("table_name") + caveat,
                    evidence(server, row, bytes)
                            .with("statistics_cover_seconds", server.statsCoverage().toSeconds())
                            .with("replicas_not_counted", replicas > 0 ? replicas : null),
                    fix);
        }, MIN_BYTES);
    }

    private Finding parleys(Server server, ResultSet row, String index, long bytes, ParleyIndexes.Made made) throws SQLException {
        return new Finding(id(), Severity.INFO, index,
                index + " has not been scanned " + server.statsDescription() + ", but Parley's migration " + made.migration()
                        + " made it for Parley's own queries, which need it once the feature it serves is used: keep it",
                evidence(server, row, bytes).with("made_by_migration", made.migration()),
                Fix.none());
    }

    private static Evidence evidence(Server server, ResultSet row, long bytes) throws SQLException {
        return new Evidence()
                .with("index", row.getString("definition"))
                .with("index_scans", 0)
                .with("size", Pretty.bytes(bytes))
                .with("size_bytes", bytes)
                .with("table_rows", row.getLong("table_rows"))
                .with("statistics_since", server.statsSince().toString());
    }
}
