package dev.parley.support;

import dev.parley.db.ConnectionTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder in front of PostgreSQL that counts round trips (and can {@link #stall}): a client's bytes that follow an answer of the
 * server's start one more. Several statements sent before waiting count once, however many TCP writes carry them.
 * A pool's check of a connection it has not used for a while (pgjdbc's empty query) is not counted: it is the pool's,
 * not the work's under test.
 */
public final class RoundTrips implements AutoCloseable {
    /** pgjdbc's {@code isValid}: a simple query of the empty string, sent alone. */
    private static final byte[] EMPTY_QUERY = {'Q', 0, 0, 0, 5, 0};
    /** PostgreSQL's CommandComplete of a COMMIT: sent once the transaction is committed. */
    private static final byte[] COMMITTED = {'C', 0, 0, 0, 11, 'C', 'O', 'M', 'M', 'I', 'T', 0};

    private final ServerSocket listener;
    private final String host;
    private final int port;
    private final String path;
    private final ConnectionTarget target;
    private final AtomicInteger count = new AtomicInteger();
    private final ExecutorService pumps = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean stalled;
    private volatile long connectDelayMillis;
    private final AtomicBoolean cutAfterCommit = new AtomicBoolean();
    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private RoundTrips(ConnectionTarget target) throws IOException {
        URI server = URI.create(target.jdbcUrl().substring("jdbc:".length()));
        this.host = server.getHost();
        this.port = server.getPort() == -1 ? 5432 : server.getPort(); // a URL may leave PostgreSQL's port out
        this.path = server.getRawPath() + (server.getRawQuery() == null ? "" : "?" + server.getRawQuery());
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.target = new ConnectionTarget("jdbc:postgresql://127.0.0.1:" + listener.getLocalPort() + path, target.user(),
                target.password());
        pumps.execute(this::accept);
    }

    /** Forwards to {@code target}'s PostgreSQL until closed. */
    public static RoundTrips to(ConnectionTarget target) {
        try {
            return new RoundTrips(target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The same database, reached through this forwarder. */
    public ConnectionTarget target() {
        return target;
    }

    /** Round trips since the last {@link #reset}, over every connection. */
    public int count() {
        return count.get();
    }

    public void reset() {
        count.set(0);
    }

    /**
     * Holds every byte in both directions from now until {@link #resume}, on the connections open and those to come:
     * a server that stopped answering, or a connection a firewall black-holed, as the client sees it.
     */
    public void stall() {
        stalled = true;
    }

    public void resume() {
        stalled = false;
    }

    /**
     * Breaks the next connection whose server answers a COMMIT, once PostgreSQL has committed and before the client
     * hears it: a connection lost during COMMIT whose transaction landed, as the client sees it.
     */
    public void cutAfterNextCommit() {
        cutAfterCommit.set(true);
    }

    /**
     * Closes every connection and refuses new ones: the database killed (kill -9 of the postmaster), as its clients
     * see it.
     */
    public void cutAll() {
        close();
        for (Socket socket : open) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // going anyway
            }
        }
    }

    /** Makes each connection opened from now on wait {@code millis} before it reaches the server: a slow database to connect to. */
    public void delayNewConnections(long millis) {
        connectDelayMillis = millis;
    }

    private void waitWhileStalled() {
        while (stalled && !listener.isClosed()) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                long delay = connectDelayMillis;
                pumps.execute(() -> forward(client, delay));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void forward(Socket client, long delayMillis) {
        try {
            Thread.sleep(delayMillis);
            open.add(client);
            Socket server = new Socket(host, port);
            open.add(server);
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            var answered = new AtomicBoolean(true); // the server has spoken last: the client's next bytes start a trip
            pumps.execute(() -> pump(client, server, answered, true));
            pumps.execute(() -> pump(server, client, answered, false));
        } catch (IOException | InterruptedException e) {
            try {
                client.close();
            } catch (IOException ignored) {
                // going anyway
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicBoolean answered, boolean fromClient) {
        byte[] buffer = new byte[64 * 1024];
        try (from; to) {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int read;
            while ((read = in.read(buffer)) > 0) {
                waitWhileStalled();
                if (!fromClient && indexOf(buffer, read, COMMITTED) >= 0 && cutAfterCommit.compareAndSet(true, false)) {
                    return; // both sockets close, the answer unsent
                }
                if (!fromClient) {
                    answered.set(true); // before the client can see the answer and send again
                } else if (answered.getAndSet(false) && !Arrays.equals(buffer, 0, read, EMPTY_QUERY, 0, EMPTY_QUERY.length)) {
                    count.incrementAndGet();
                }
                out.write(buffer, 0, read);
                out.flush();
            }
        } catch (IOException closed) {
            // either side went away: the other is closed with it
        }
    }

    private static int indexOf(byte[] buffer, int length, byte[] wanted) {
        for (int i = 0; i + wanted.length <= length; i++) {
            if (Arrays.equals(buffer, i, i + wanted.length, wanted, 0, wanted.length)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        pumps.shutdownNow();
    }
}
