package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Query;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time spent while a target was measured, by whom: this JVM (the bench's clients, and Parley too when the
 * bench started it here), the Parley server driven over HTTP when it runs apart ({@code process_cpu_time_ns_total}
 * on its admin port), PostgreSQL (all the server's processes, from /proc, when it runs on this machine), and the
 * machine as a whole (busy and stolen time from /proc/stat). Divided by the operations done it says where an
 * operation's cost goes: a figure that moves far less from run to run than throughput does on a machine shared
 * with other work. Each part but the bench's is null where it could not be read.
 */
record CpuUse(long benchNanos, Long serverNanos, Long databaseNanos, Long machineBusyNanos, Long stolenNanos,
              long wallNanos) {
    private static final long NANOS_PER_TICK = 10_000_000; // /proc counts in USER_HZ, 100 a second on Linux
    /**
     * Why the machine's busy time can be less than its parts': /proc/stat charges each 10 ms tick to what the core
     * was doing at that instant, and a core that works in bursts of a few hundred µs between idle spells (a run at a
     * fixed rate well below the maximum) is mostly found idle. The processes' own times are exact, so their sum is
     * the lower bound then. In a closed-loop run the cores are busy and the count is right.
     */
    static final String UNDERCOUNT = "ticks miss short bursts at part load";

    /** What was spent between {@code earlier} and this reading. */
    CpuUse since(CpuUse earlier) {
        return new CpuUse(benchNanos - earlier.benchNanos, minus(serverNanos, earlier.serverNanos),
                minus(databaseNanos, earlier.databaseNanos), minus(machineBusyNanos, earlier.machineBusyNanos),
                minus(stolenNanos, earlier.stolenNanos), wallNanos - earlier.wallNanos);
    }

    /** "bench 41 µs, server 312 µs, PostgreSQL 254 µs, machine 655 µs; 12 % of the machine stolen": per operation. */
    String perOperation(long operations, int cores) {
        if (operations == 0) {
            return "no operations";
        }
        StringBuilder line = new StringBuilder("bench %,d µs".formatted(benchNanos / 1000 / operations));
        if (serverNanos != null) {
            line.append(", server %,d µs".formatted(serverNanos / 1000 / operations));
        }
        if (databaseNanos != null) {
            line.append(", PostgreSQL %,d µs".formatted(databaseNanos / 1000 / operations));
        }
        if (machineBusyNanos != null) {
            long parts = benchNanos + (serverNanos == null ? 0 : serverNanos) + (databaseNanos == null ? 0 : databaseNanos);
            if (machineBusyNanos >= parts) {
                line.append(", machine %,d µs".formatted(machineBusyNanos / 1000 / operations));
            } else { // see UNDERCOUNT
                line.append(", machine ≥ %,d µs (counted %,d: %s)".formatted(parts / 1000 / operations,
                        machineBusyNanos / 1000 / operations, UNDERCOUNT));
            }
        }
        if (stolenNanos != null && wallNanos > 0) {
            line.append("; %.0f %% of the machine stolen".formatted(100.0 * stolenNanos / wallNanos / cores));
        }
        return line.toString();
    }

    private static Long minus(Long now, Long then) {
        return now == null || then == null ? null : now - then;
    }

    /** Reads the parts; the PostgreSQL server is found once, by the process of one of {@code database}'s connections. */
    static final class Meter {
        private static final Query BACKEND = new Query("bench.backend_pid", "SELECT pg_backend_pid()");
        private final Long postmaster; // null: PostgreSQL runs elsewhere (or /proc cannot be read)

        private Meter(Long postmaster) {
            this.postmaster = postmaster;
        }

        static Meter of(Database database) {
            long backend = database.read(handle -> handle.first(BACKEND, row -> row.getLong(1)).orElseThrow());
            Stat stat = Stat.of(Path.of("/proc", String.valueOf(backend), "stat"));
            boolean ours = stat != null && stat.command().equals("postgres");
            return new Meter(ours ? stat.parent() : null);
        }

        /** Whether PostgreSQL runs on this machine, where its processes' CPU can be read. */
        boolean seesDatabase() {
            return postmaster != null;
        }

        /** A reading now, with the server's CPU from {@code target} (null when it is this JVM or unknown). */
        CpuUse read(Target target) throws Exception {
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long[] machine = machine();
            return new CpuUse(os.getProcessCpuTime(), target.serverCpuNanos(), postgres(),
                    machine == null ? null : machine[0], machine == null ? null : machine[1], System.nanoTime());
        }

        /**
         * The server's processes: the postmaster's own time and its children's (ended children included: their
         * time is the postmaster's "children's time" once it has waited for them). Null if it is gone.
         */
        private Long postgres() throws IOException {
            if (postmaster == null) {
                return null;
            }
            Stat parent = Stat.of(Path.of("/proc", String.valueOf(postmaster), "stat"));
            if (parent == null) {
                return null;
            }
            long ticks = parent.ownTicks() + parent.childrenTicks();
            try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                for (Path process : processes) {
                    Stat child = Stat.of(process.resolve("stat"));
                    if (child != null && child.parent() == postmaster) {
                        ticks += child.ownTicks();
                    }
                }
            }
            return ticks * NANOS_PER_TICK;
        }

        /** Busy (user, nice, system, irq, softirq) and stolen time of all cores, or null without /proc/stat. */
        private static long[] machine() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
                long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[6])
                        + Long.parseLong(f[7]);
                return new long[] {busy * NANOS_PER_TICK, Long.parseLong(f[8]) * NANOS_PER_TICK};
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }

    /** The fields of /proc/PID/stat that matter here. */
    private record Stat(String command, long parent, long ownTicks, long childrenTicks) {
        /** Null when the process is gone or the file cannot be read. */
        static Stat of(Path file) {
            try {
                String text = Files.readString(file);
                int open = text.indexOf('(');
                int close = text.lastIndexOf(')');
                // After the command: state, ppid, ... utime (14th field), stime, cutime, cstime.
                String[] f = text.substring(close + 2).split(" ");
                return new Stat(text.substring(open + 1, close), Long.parseLong(f[1]),
                        Long.parseLong(f[11]) + Long.parseLong(f[12]), Long.parseLong(f[13]) + Long.parseLong(f[14]));
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }
}
