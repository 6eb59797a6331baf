package dev.parley.db;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files and folders of the embedded PostgreSQL that only the user running Parley may read: its folder (the
 * database, its password, its log) and the log, which quotes rows. Where the file system has no POSIX modes
 * (Windows), they are left as the system makes them.
 */
final class OwnerOnly {
    private static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private OwnerOnly() {
    }

    /**
     * Makes {@code folder}, and any missing folder above it, mode 0700. A folder that already exists keeps its mode:
     * it may be one the operator chose (a home directory, /tmp) and is theirs to set.
     */
    static void directory(Path folder) throws IOException {
        if (Files.isDirectory(folder)) {
            return;
        }
        if (!posix()) {
            Files.createDirectories(folder);
            return;
        }
        Path parent = folder.toAbsolutePath().getParent();
        if (parent != null) {
            directory(parent);
        }
        try {
            Files.createDirectory(folder, PosixFilePermissions.asFileAttribute(FOLDER));
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(folder)) {
                throw raced;
            }
        }
    }

    /** Creates {@code file} empty with mode 0600, or makes an existing one 0600. */
    static void file(Path file) throws IOException {
        if (!posix()) {
            return;
        }
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE));
        } catch (FileAlreadyExistsException exists) {
            if (!Files.getPosixFilePermissions(file).equals(FILE)) {
                Files.setPosixFilePermissions(file, FILE);
            }
        }
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
