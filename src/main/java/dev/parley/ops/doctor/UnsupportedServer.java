package dev.parley.ops.doctor;

/** The server is older than PostgreSQL 15, whose catalogs and statistics views the checks read. */
public final class UnsupportedServer extends RuntimeException {
    UnsupportedServer(String version) {
        super("the doctor needs PostgreSQL 15 or newer; this server is " + version);
    }
}
