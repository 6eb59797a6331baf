package dev.parley.ops.doctor;

import dev.parley.db.Handle;
import dev.parley.db.Query;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The memory of the server's machine, which SQL cannot ask for. Known from --server-memory, from the
 * server's own /proc/meminfo (readable by superusers and pg_read_server_files), or from this machine's
 * when the server listens on loopback or a Unix socket here. Unknown otherwise.
 */
public record Machine(long memoryBytes, String source) {
    private static final Pattern MEM_TOTAL = Pattern.compile("MemTotal:\\s+(\\d+)\\s*kB");
    private static final Query MEMINFO = new Query("doctor.meminfo", "SELECT pg_read_file('/proc/meminfo')");

    static Optional<Machine> detect(Handle handle, Server server, OptionalLong given) {
        if (given.isPresent()) {
            return Optional.of(new Machine(given.getAsLong(), "--server-memory"));
        }
        Optional<Machine> remote = fromServer(handle);
        if (remote.isPresent()) {
            return remote;
        }
        if (server.address() == null || server.address().startsWith("127.") || server.address().startsWith("::1")) {
            return fromLocalFile();
        }
        return Optional.empty();
    }

    private static Optional<Machine> fromServer(Handle handle) {
        try {
            return handle.first(MEMINFO, row -> row.getString(1))
                    .flatMap(Machine::memTotal)
                    .map(bytes -> new Machine(bytes, "the server's /proc/meminfo"));
        } catch (SQLException e) {
            return Optional.empty(); // not permitted, or not Linux: other sources follow
        }
    }

    private static Optional<Machine> fromLocalFile() {
        try {
            return memTotal(Files.readString(Path.of("/proc/meminfo")))
                    .map(bytes -> new Machine(bytes, "/proc/meminfo of this machine (the server listens on loopback)"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Optional<Long> memTotal(String meminfo) {
        Matcher m = MEM_TOTAL.matcher(meminfo);
        return m.find() ? Optional.of(Long.parseLong(m.group(1)) * 1024) : Optional.empty();
    }
}
