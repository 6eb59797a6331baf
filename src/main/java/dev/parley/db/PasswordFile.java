package dev.parley.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/** The embedded PostgreSQL's superuser password, kept in a file only its owner can read (mode 0600). */
record PasswordFile(Path path) {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** 256 random bits, URL-safe base64: nothing in it needs quoting in SQL or a URL. */
    static String generate() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Empty for a data folder that an older Parley made, with trust authentication and no password. */
    Optional<String> read() {
        try {
            return Files.exists(path) ? Optional.of(Files.readString(path).strip()) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("could not read the embedded PostgreSQL's password from " + path
                    + "; it should belong to the user running Parley, mode 0600", e);
        }
    }

    /** Written under another name with mode 0600 from the start, then renamed: never readable by others, never half written. */
    void write(String password) {
        try {
            Path partial = path.resolveSibling(path.getFileName() + ".partial");
            Files.deleteIfExists(partial);
            Files.createFile(partial, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(partial, password + "\n");
            Files.move(partial, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the embedded PostgreSQL's password to " + path
                    + "; check the folder is writable", e);
        }
    }
}
