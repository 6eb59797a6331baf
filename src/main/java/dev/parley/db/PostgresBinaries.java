package dev.parley.db;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.io.file.PathUtils;
import org.tukaani.xz.XZInputStream;

/**
 * The PostgreSQL programs (initdb, pg_ctl, postgres) that zonky ships in a jar from Maven Central,
 * unpacked once per archive into {@code <tmp>/parley-postgres-<hash>}.
 */
record PostgresBinaries(Path home) {

    /** Unpacks the bundled archive unless an earlier run already did; safe when two processes race. */
    static PostgresBinaries unpacked() {
        try {
            byte[] archive = archive();
            Path home = Path.of(System.getProperty("java.io.tmpdir"), "parley-postgres-" + shortHash(archive));
            if (!Files.isExecutable(home.resolve("bin/postgres"))) {
                unpack(archive, home);
            }
            return new PostgresBinaries(home);
        } catch (IOException e) {
            throw new UncheckedIOException("could not unpack PostgreSQL's binaries into " + System.getProperty("java.io.tmpdir")
                    + "; check it is writable and has 100 MB free", e);
        }
    }

    /**
     * The command line that runs one of the programs. PostgreSQL refuses to run as root, so root runs it
     * in a user namespace of its own ({@code unshare -U}), as zonky does.
     */
    List<String> command(String program, String... args) {
        var command = new ArrayList<String>();
        if (LinuxUtils.isUnshareAvailable()) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.add(home.resolve("bin").resolve(program).toString());
        command.addAll(List.of(args));
        return command;
    }

    private static byte[] archive() throws IOException {
        try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(operatingSystem(), architecture())) {
            return in.readAllBytes();
        }
    }

    /** The names zonky's resolver expects: "Linux"/"Darwin", and "x86_64" for amd64. */
    private static String operatingSystem() {
        return System.getProperty("os.name").startsWith("Mac") ? "Darwin" : System.getProperty("os.name");
    }

    private static String architecture() {
        String arch = System.getProperty("os.arch");
        return arch.equals("amd64") ? "x86_64" : arch;
    }

    private static String shortHash(byte[] archive) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Unpacks into a private folder, then renames it into place, so no process ever sees half the files. */
    private static void unpack(byte[] archive, Path home) throws IOException {
        Path partial = Files.createTempDirectory(home.getParent(), home.getFileName() + ".partial-");
        try (var tar = new TarArchiveInputStream(new XZInputStream(new ByteArrayInputStream(archive)))) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                write(tar, entry, partial);
            }
        }
        try {
            Files.move(partial, home, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            PathUtils.deleteDirectory(partial);
            if (!Files.isExecutable(home.resolve("bin/postgres"))) {
                throw e; // not a lost race with another process unpacking the same archive
            }
        }
    }

    private static void write(TarArchiveInputStream tar, TarArchiveEntry entry, Path root) throws IOException {
        Path target = root.resolve(entry.getName()).normalize();
        if (!target.startsWith(root)) {
            throw new IOException("archive entry " + entry.getName() + " points outside " + root);
        }
        if (entry.isDirectory()) {
            Files.createDirectories(target);
            return;
        }
        Files.createDirectories(target.getParent());
        if (entry.isSymbolicLink()) {
            Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
        } else {
            Files.copy(tar, target);
            target.toFile().setExecutable((entry.getMode() & 0100) != 0 || entry.getName().startsWith("bin/"));
        }
    }
}
