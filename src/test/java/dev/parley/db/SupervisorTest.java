package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded PostgreSQL is restarted when its postmaster dies, however long the way back takes. */
class SupervisorTest {
    @Test
    void restart_attempts_wait_a_quarter_second_then_twice_as_long_each_time_up_to_ten_seconds() {
        assertThat(IntStream.rangeClosed(1, 8).mapToObj(Supervisor::delayAfter).map(Duration::toMillis))
                .containsExactly(250L, 500L, 1_000L, 2_000L, 4_000L, 8_000L, 10_000L, 10_000L);
        assertThat(Supervisor.delayAfter(1_000)).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void a_killed_postmaster_is_restarted_once_its_orphan_backends_let_go_of_its_shared_memory(@TempDir Path dataDir) throws Exception {
        ScheduledExecutorService supervision = Executors.newSingleThreadScheduledExecutor();
        try (LocalPostgres server = LocalPostgres.startOrAttach(dataDir, Map.of(), 0).supervise(supervision, Clock.systemUTC());
             Connection busy = connect(server)) {
            long backend = backendPid(busy);
            // A backend in a loop that never waits does not notice its postmaster's death, and keeps its shared memory.
            Thread.ofVirtual().start(() -> runForever(busy));
            Wait.until("the loop runs", Duration.ofSeconds(10), () -> active(server, backend));

            ProcessHandle postmaster = ProcessHandle.of(postmasterPid(dataDir)).orElseThrow();
            postmaster.destroyForcibly();
            postmaster.onExit().get();

            Path log = dataDir.resolve("postgres.log");
            Wait.until("a restart refused because of the orphan", Duration.ofSeconds(30),
                    () -> Files.readString(log).contains("pre-existing shared memory block"));
            assertThat(canConnect(server)).as("not back while the orphan holds its shared memory").isFalse();

            ProcessHandle.of(backend).orElseThrow().destroyForcibly();
            Wait.until("PostgreSQL is back", Duration.ofSeconds(30), () -> canConnect(server));
        } finally {
            supervision.shutdownNow();
        }
    }

    /** PostgreSQL's lock file names the postmaster's pid on its first line. */
    private static long postmasterPid(Path dataDir) throws Exception {
        return Long.parseLong(Files.readAllLines(dataDir.resolve("pg/postmaster.pid")).getFirst().strip());
    }

    private static Connection connect(LocalPostgres server) throws SQLException {
        ConnectionTarget target = server.target("postgres");
        return DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password());
    }

    private static long backendPid(Connection connection) throws SQLException {
        try (var statement = connection.createStatement(); var result = statement.executeQuery("SELECT pg_backend_pid()")) {
            result.next();
            return result.getLong(1);
        }
    }

    private static void runForever(Connection connection) {
        try (var statement = connection.createStatement()) {
            statement.execute("DO $$ BEGIN LOOP PERFORM 1; END LOOP; END $$");
        } catch (SQLException expected) {
            // the test kills this backend
        }
    }

    private static boolean active(LocalPostgres server, long backend) throws SQLException {
        try (Connection connection = connect(server); var statement = connection.createStatement();
             var result = statement.executeQuery("SELECT state FROM pg_stat_activity WHERE pid = " + backend)) {
            return result.next() && "active".equals(result.getString(1));
        }
    }

    private static boolean canConnect(LocalPostgres server) {
        try (Connection connection = connect(server)) {
            return connection.isValid(1);
        } catch (SQLException e) {
            return false;
        }
    }
}
