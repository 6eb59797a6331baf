package dev.parley.support;

import dev.parley.db.ConnectionTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Ports for tests: one the system just gave out and took back, so nothing listens there until someone binds it. */
public final class Ports {
    private Ports() {
    }

    /** A loopback port free a moment ago: for a server a test starts there, or as an address where nothing listens. */
    public static int free() {
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A database address where nothing listens. */
    public static ConnectionTarget unreachableDatabase() {
        return new ConnectionTarget("jdbc:postgresql://127.0.0.1:" + free() + "/nowhere", "postgres", null);
    }
}
