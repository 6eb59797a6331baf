package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * settings: a short list of server settings that are clearly wrong, each with its reason. Durability
 * and maintenance switches that must be on in production (fsync, full_page_writes, autovacuum,
 * track_counts); and, when the machine's memory is known, memory settings far from what the machine
 * allows: shared_buffers under 1/32 of RAM (from 4 GB of RAM up) or over 60% of it, work_mem so large
 * that max_connections of them exceed RAM, effective_cache_size under a quarter of RAM.
 */
final class ServerSettings implements Check {
    private static final long LARGE_MACHINE = 4L << 30;

    private static final Query SETTINGS = new Query("doctor.settings", """
            SELECT current_setting('fsync') AS fsync, current_setting('full_page_writes') AS full_page_writes,
                   current_setting('autovacuum') AS autovacuum, current_setting('track_counts') AS track_counts,
                   pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers,
                   pg_size_bytes(current_setting('work_mem')) AS work_mem,
                   pg_size_bytes(current_setting('effective_cache_size')) AS effective_cache_size,
                   current_setting('max_connections')::int AS max_connections""");

    private record Values(String fsync, String fullPageWrites, String autovacuum, String trackCounts, long sharedBuffers,
                          long workMem, long effectiveCacheSize, int maxConnections) {
    }

    @Override
    public String id() {
        return "settings";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Values v = inspection.one(SETTINGS, row -> new Values(row.getString("fsync"), row.getString("full_page_writes"),
                row.getString("autovacuum"), row.getString("track_counts"), row.getLong("shared_buffers"),
                row.getLong("work_mem"), row.getLong("effective_cache_size"), row.getInt("max_connections")));
        List<Finding> findings = new ArrayList<>();
        off(findings, "fsync", v.fsync(), "an operating-system crash or power loss can corrupt the database beyond repair");
        off(findings, "full_page_writes", v.fullPageWrites(),
                "a page torn by a crash mid-write cannot be repaired from the WAL: silent corruption");
        off(findings, "autovacuum", v.autovacuum(), "dead rows are never cleaned up, statistics go stale, and only "
                + "emergency vacuums stand between the database and transaction-id wraparound");
        off(findings, "track_counts", v.trackCounts(), "autovacuum cannot tell which tables need it, and every "
                + "usage statistic (and the checks of this doctor built on them) is blind");
        Optional<Machine> machine = inspection.machine();
        if (machine.isEmpty()) {
            inspection.limit("memory settings not judged: the server's memory is unknown (pass --server-memory, "
                    + "or run as a role with pg_read_server_files on a Linux server)");
            return findings;
        }
        memory(findings, v, machine.get().memoryBytes());
        return findings;
    }

    private void off(List<Finding> findings, String name, String value, String consequence) {
        if (value.equals("off")) {
            findings.add(new Finding(id(), Severity.CRITICAL, name, name + " is off: " + consequence,
                    new Evidence().with(name, value),
                    Fix.manual("ALTER SYSTEM SET " + name + " = on;", "SELECT pg_reload_conf();")));
        }
    }

    private void memory(List<Finding> findings, Values v, long ram) {
        long quarter = ram / 4;
        if (ram >= LARGE_MACHINE && v.sharedBuffers() < ram / 32) {
            findings.add(memoryFinding(Severity.WARNING, "shared_buffers", v.sharedBuffers(), ram,
                    "is " + Pretty.bytes(v.sharedBuffers()) + " on a machine with " + Pretty.bytes(ram)
                            + ": most reads go through the kernel instead of PostgreSQL's own cache; 25% of RAM is the usual start",
                    "ALTER SYSTEM SET shared_buffers = '" + (quarter >> 20) + "MB';", "-- takes effect after a restart"));
        } else if (v.sharedBuffers() > ram * 0.6) {
            findings.add(memoryFinding(Severity.WARNING, "shared_buffers", v.sharedBuffers(), ram,
                    "is " + Pretty.bytes(v.sharedBuffers()) + " of " + Pretty.bytes(ram) + " RAM: too little is left for "
                            + "connections, sorts, maintenance and the kernel's cache",
                    "ALTER SYSTEM SET shared_buffers = '" + (quarter >> 20) + "MB';", "-- takes effect after a restart"));
        }
        if (v.workMem() * v.maxConnections() > ram) {
            long suggested = Math.max(1L << 20, ram / (4L * v.maxConnections()));
            findings.add(memoryFinding(Severity.WARNING, "work_mem", v.workMem(), ram,
                    "is " + Pretty.bytes(v.workMem()) + ": " + v.maxConnections() + " connections each sorting once already "
                            + "exceed the machine's " + Pretty.bytes(ram) + " (and one query may use several work_mem): "
                            + "a busy moment ends in the out-of-memory killer",
                    "ALTER SYSTEM SET work_mem = '" + (suggested >> 20) + "MB';", "SELECT pg_reload_conf();"));
        }
        if (ram >= LARGE_MACHINE && v.effectiveCacheSize() < quarter) {
            findings.add(memoryFinding(Severity.INFO, "effective_cache_size", v.effectiveCacheSize(), ram,
                    "is " + Pretty.bytes(v.effectiveCacheSize()) + " on a machine with " + Pretty.bytes(ram)
                            + ": the planner assumes little is cached and undervalues index scans; 50-75% of RAM is usual",
                    "ALTER SYSTEM SET effective_cache_size = '" + (ram * 6 / 10 >> 20) + "MB';", "SELECT pg_reload_conf();"));
        }
    }

    private Finding memoryFinding(Severity severity, String name, long value, long ram, String what, String... fix) {
        return new Finding(id(), severity, name, name + " " + what,
                new Evidence().with(name, Pretty.bytes(value)).with(name + "_bytes", value)
                        .with("machine_memory", Pretty.bytes(ram)).with("machine_memory_bytes", ram),
                Fix.manual(fix));
    }
}
