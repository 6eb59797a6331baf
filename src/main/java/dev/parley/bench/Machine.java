package dev.parley.bench;

import dev.parley.db.Database;
import dev.parley.db.Query;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the figures were measured on, as a report must say. */
record Machine(int cores, String cpu, long memoryMiB, String os, String java, String postgres) {
    static Machine describe(Database database) {
        String postgres = database.read(handle -> handle.first(new Query("bench.version", "SHOW server_version"), row -> row.getString(1)))
                .orElse("?");
        return new Machine(Runtime.getRuntime().availableProcessors(), readCpuModel(), readMemoryMiB(),
                System.getProperty("os.name") + " " + System.getProperty("os.version"),
                "JDK " + Runtime.version().feature(), "PostgreSQL " + postgres);
    }

    String oneLine() {
        return "%d cores (%s), %.1f GiB RAM, %s, %s, %s".formatted(cores, cpu, memoryMiB / 1024.0, os, java, postgres);
    }

    private static String readCpuModel() {
        return read(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("unknown CPU");
    }

    private static long readMemoryMiB() {
        return read(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024).findFirst()
                .orElse(Runtime.getRuntime().maxMemory() / (1 << 20));
    }

    private static List<String> read(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }
}
