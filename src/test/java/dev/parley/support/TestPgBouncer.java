package dev.parley.support;

import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A pgbouncer of the test's own in front of one database of the test PostgreSQL, as a child process
 * on a free loopback port, in transaction pool mode with fewer server connections than clients, all
 * kept open and handed out round robin: so consecutive transactions of one client run on different server connections, and
 * anything a client leaves in a session is found, or missed, by another. Its files live in a temporary
 * folder that {@link #close()} deletes.
 */
public final class TestPgBouncer implements AutoCloseable {
    /** Server connections PgBouncer opens to PostgreSQL at most: fewer than a Parley's pool holds. */
    public static final int SERVER_CONNECTIONS = 4;

    private final Path dir;
    private final Process process;
    private final int port;
    private final String database;
    private final URI server; // the test PostgreSQL, postgres://user[:password]@host:port/database

    private TestPgBouncer(Path dir, Process process, int port, String database, URI server) {
        this.dir = dir;
        this.process = process;
        this.port = port;
        this.database = database;
        this.server = server;
    }

    /** Starts {@code program} in front of {@code database} (a database of {@link TestDatabase#get()}), once it accepts connections. */
    public static TestPgBouncer start(Path program, String database) {
        URI server = URI.create(TestDatabase.get().url(database));
        int port = Ports.free();
        try {
            Path dir = Files.createTempDirectory("parley-pgbouncer");
            Files.writeString(dir.resolve("userlist.txt"), "\"" + user(server) + "\" \"\"\n");
            Files.writeString(dir.resolve("pgbouncer.ini"), config(dir, port, database, server));
            Process process = new ProcessBuilder(command(program, dir.resolve("pgbouncer.ini"))).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("pgbouncer.log").toFile()).start();
            var bouncer = new TestPgBouncer(dir, process, port, database, server);
            Wait.until("pgbouncer on port " + port + " to accept connections (" + dir.resolve("pgbouncer.log") + ")",
                    Duration.ofSeconds(10), () -> {
                        if (!process.isAlive()) {
                            throw new AssertionError("pgbouncer exited: " + bouncer.log());
                        }
                        return accepts(port);
                    });
            return bouncer;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start pgbouncer", e);
        }
    }

    /**
     * Transaction mode and the request limits on its server connections, as docs/operations.md "PgBouncer" sets them;
     * no Unix socket, trust on loopback.
     */
    private static String config(Path dir, int port, String database, URI server) {
        String password = server.getUserInfo().contains(":") ? " password=" + server.getUserInfo().split(":", 2)[1] : "";
        return """
                [databases]
                %s = host=%s port=%d dbname=%s user=%s%s connect_query='SET lock_timeout = 2000; SET statement_timeout = 10000'

                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = %d
                unix_socket_dir =
                auth_type = trust
                auth_file = %s
                pool_mode = transaction
                default_pool_size = %d
                min_pool_size = %d
                max_client_conn = 200
                server_round_robin = 1
                """.formatted(database, host(server), server.getPort(), database, user(server), password, port,
                dir.resolve("userlist.txt"), SERVER_CONNECTIONS, SERVER_CONNECTIONS);
    }

    /** PgBouncer refuses to run as root; root runs it in a user namespace of its own, as the embedded PostgreSQL is run. */
    private static List<String> command(Path program, Path config) {
        var command = new ArrayList<String>();
        if (LinuxUtils.isUnshareAvailable()) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.addAll(List.of(program.toString(), config.toString()));
        return command;
    }

    /** The database through this PgBouncer, as DATABASE_URL gives it. */
    public String url() {
        return "postgres://" + server.getUserInfo() + "@127.0.0.1:" + port + "/" + database;
    }

    /** The database straight at PostgreSQL, as PARLEY_DIRECT_DATABASE_URL gives it. */
    public String directUrl() {
        return "postgres://" + server.getUserInfo() + "@" + host(server) + ":" + server.getPort() + "/" + database;
    }

    /** What pgbouncer has logged so far. */
    public String log() {
        try {
            return Files.readString(dir.resolve("pgbouncer.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops pgbouncer (SIGTERM, then SIGKILL after five seconds) and deletes its folder. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete " + dir, e);
        }
    }

    private static String user(URI server) {
        return server.getUserInfo().split(":", 2)[0];
    }

    /** The embedded server listens on loopback IPv4; "localhost" could resolve to ::1 in PgBouncer. */
    private static String host(URI server) {
        return server.getHost().equals("localhost") ? "127.0.0.1" : server.getHost();
    }

    private static boolean accepts(int port) {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
