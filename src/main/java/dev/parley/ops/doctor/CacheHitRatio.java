package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * runtime.cache_hit_ratio: the share of table and index block reads that shared_buffers served, over
 * this database's tables since the statistics began. Below 99% (PgHero's bar) is worth knowing, below
 * 95% the working set clearly does not fit. Only judged once {@value #MIN_BLOCKS} blocks have been
 * read, so a freshly started database is not blamed for its cold cache.
 */
final class CacheHitRatio implements Check {
    static final double INFO_BELOW = 0.99;
    static final double WARNING_BELOW = 0.95;
    static final long MIN_BLOCKS = 10_000;

    private static final Query RATIOS = new Query("doctor.cache_hit_ratio", """
            SELECT coalesce(sum(heap_blks_hit), 0) AS heap_hit, coalesce(sum(heap_blks_read), 0) AS heap_read,
                   coalesce(sum(idx_blks_hit), 0) AS index_hit, coalesce(sum(idx_blks_read), 0) AS index_read,
                   pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers,
                   (SELECT string_agg(format('%s (%s blocks read)', t, r), ', ')
                      FROM (SELECT format('%I.%I', schemaname, relname) AS t, heap_blks_read AS r
                              FROM pg_statio_user_tables WHERE heap_blks_read > 0
                             ORDER BY heap_blks_read DESC LIMIT 5) top) AS most_read
              FROM pg_statio_user_tables""");

    @Override
    public String id() {
        return "runtime.cache_hit_ratio";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.one(RATIOS, row -> {
            long sharedBuffers = row.getLong("shared_buffers");
            List<Finding> findings = new ArrayList<>();
            judge(inspection, "tables", row.getLong("heap_hit"), row.getLong("heap_read"), sharedBuffers,
                    row.getString("most_read")).ifPresent(findings::add);
            judge(inspection, "indexes", row.getLong("index_hit"), row.getLong("index_read"), sharedBuffers, null)
                    .ifPresent(findings::add);
            return findings;
        });
    }

    private Optional<Finding> judge(Inspection inspection, String kind, long hit, long read, long sharedBuffers,
                                              String mostRead) {
        long total = hit + read;
        double ratio = total == 0 ? 1 : (double) hit / total;
        if (total < MIN_BLOCKS || ratio >= INFO_BELOW) {
            return Optional.empty();
        }
        String database = inspection.server().database();
        var machine = inspection.machine();
        List<String> fix = new ArrayList<>();
        if (machine.isPresent() && sharedBuffers < machine.get().memoryBytes() / 4) {
            fix.add("ALTER SYSTEM SET shared_buffers = '" + (machine.get().memoryBytes() / 4 >> 20) + "MB';");
            fix.add("-- shared_buffers takes effect after a restart of PostgreSQL");
        } else {
            fix.add("-- the working set is larger than memory: add RAM, or find the statements that read the most "
                    + "blocks (pg_stat_statements.shared_blks_read) and index them");
        }
        return Optional.of(new Finding(id(), ratio < WARNING_BELOW ? Severity.WARNING : Severity.INFO,
                database + " " + kind,
                "only " + Pretty.percent(ratio) + " of " + kind + " block reads in " + database
                        + " were served from shared_buffers; every miss is a read from the OS cache or disk",
                new Evidence().with("hit_ratio", Math.round(ratio * 10000) / 10000.0).with("blocks_hit", hit)
                        .with("blocks_read", read).with("shared_buffers", Pretty.bytes(sharedBuffers))
                        .with("machine_memory", machine.map(m -> Pretty.bytes(m.memoryBytes())).orElse(null))
                        .with("most_read_tables", mostRead),
                Fix.manual(fix)));
    }
}
