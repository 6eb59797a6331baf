package dev.parley.db;

import static java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE;
import static java.nio.file.attribute.PosixFilePermission.OWNER_READ;
import static java.nio.file.attribute.PosixFilePermission.OWNER_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.ops.doctor.Doctor;
import dev.parley.ops.doctor.Severity;
import dev.parley.ops.doctor.SessionLimits;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Period;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalPostgresTest {
    /**
     * initdb took the locale of the environment it ran in: in a shell of C or POSIX (a container's usual) the database
     * folded no letter outside ASCII, so search missed "École" for "école"; a locale the machine lacks stopped it.
     */
    @Test
    void the_embedded_database_folds_every_alphabet_whatever_locale_the_shell_names(@TempDir Path dir) throws Exception {
        var locales = new ProcessBuilder("locale", "-a").start(); // macOS has no C.UTF-8: the environment's locale is taken there
        org.junit.jupiter.api.Assumptions.assumeTrue(new String(locales.getInputStream().readAllBytes()).lines()
                .anyMatch(name -> name.equalsIgnoreCase("C.UTF-8") || name.equalsIgnoreCase("C.utf8")), "no locale C.UTF-8 here");
        for (String locale : List.of("C", "xx_XX.UTF-8")) {
            Path dataDir = dir.resolve(locale);
            var command = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), dev.parley.Main.class.getName(), "migrate",
                    "--data-dir", dataDir.toString()).redirectErrorStream(true).redirectOutput(dir.resolve(locale + ".log").toFile());
            command.environment().remove("LANG");
            command.environment().put("LC_ALL", locale);
            Process migrate = command.start();
            assertThat(migrate.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String said = Files.readString(dir.resolve(locale + ".log"));
            assertThat(migrate.exitValue()).as(locale + ": " + said).isZero();
            assertThat(said).as("a new folder is no older Parley's").contains("made in").doesNotContain("now asks for the password");

            try (LocalPostgres server = LocalPostgres.startOrAttach(dataDir, LocalPostgres.durable(), 0);
                 Connection sql = connect(server);
                 var rows = sql.createStatement().executeQuery(
                         "SELECT to_tsvector('simple', 'École İstanbul ÄRGER') @@ 'école & ärger'::tsquery, lower('ÉCOLE')")) {
                rows.next();
                assertThat(rows.getBoolean(1)).as(locale).isTrue();
                assertThat(rows.getString(2)).as(locale).isEqualTo("école");
            }
        }
    }

    @Test
    void a_fresh_embedded_parley_passes_its_own_doctor(@TempDir Path dataDir) {
        try (LocalPostgres server = LocalPostgres.startOrAttach(dataDir, LocalPostgres.durable(), 0);
             Database database = TestDatabase.pool(server.target(), 2)) {
            new Migrations(database.dataSource()).migrate();
            YearMonth now = YearMonth.now(ZoneOffset.UTC);
            new Partitions(database).ensure(now, now.plusMonths(3));

            var report = new Doctor(database, new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.empty(),
                    Optional.of(Period.ofDays(365)))).audit(List.of());

            assertThat(report.atLeast(Severity.INFO)).as("durable settings, pg_stat_statements, no index to drop").isEmpty();
            assertThat(report.skipped()).as("nothing the doctor could not look at").isEmpty();
        }
    }

    @Test
    void a_second_process_attaches_to_the_running_server_instead_of_starting_another(@TempDir Path dataDir) {
        try (LocalPostgres first = LocalPostgres.startOrAttach(dataDir, LocalPostgres.durable(), 0);
             LocalPostgres second = LocalPostgres.startOrAttach(dataDir, LocalPostgres.durable(), 0)) {
            assertThat(second.port()).isEqualTo(first.port());
            second.close(); // an attached server keeps running
            try (Database database = TestDatabase.pool(first.target(), 1)) {
                Optional<Integer> ping = database.read(handle -> handle.first(new Query("test.ping", "SELECT 1"), r -> r.getInt(1)));
                assertThat(ping).contains(1);
            }
        }
    }

    @Test
    void processes_attached_to_a_server_whose_owner_stops_it_start_it_again_one_of_them_and_each_takes_it_over_in_turn(
            @TempDir Path dataDir) throws Exception {
        ScheduledExecutorService firstChecks = Executors.newSingleThreadScheduledExecutor();
        ScheduledExecutorService secondChecks = Executors.newSingleThreadScheduledExecutor();
        try (LocalPostgres owner = LocalPostgres.startOrAttach(dataDir, Map.of(), 0);
             LocalPostgres first = LocalPostgres.startOrAttach(dataDir, Map.of(), 0).supervise(firstChecks, Clock.systemUTC());
             LocalPostgres second = LocalPostgres.startOrAttach(dataDir, Map.of(), 0).supervise(secondChecks, Clock.systemUTC())) {
            try (Connection connection = connect(first); var statement = connection.createStatement()) {
                statement.execute("CREATE TABLE kept AS SELECT 'acknowledged' AS note");
            }

            owner.close(); // a fast shutdown, as when its Parley stops: both race to start it, PostgreSQL's lock lets one
            // Until the winner's start has returned too: PostgreSQL takes connections a moment before pg_ctl says so.
            Wait.until("both reach a server one of them runs", Duration.ofSeconds(60), () -> answers(first) && answers(second)
                    && (first.runsTheServer() || second.runsTheServer()));
            try (Connection connection = connect(second); var statement = connection.createStatement();
                 var kept = statement.executeQuery("SELECT note FROM kept")) {
                assertThat(kept.next()).isTrue();
                assertThat(kept.getString(1)).isEqualTo("acknowledged");
            }

            assertThat(List.of(first.runsTheServer(), second.runsTheServer())).as("one of them runs it").containsOnlyOnce(true);
            LocalPostgres winner = first.runsTheServer() ? first : second;
            LocalPostgres other = winner == first ? second : first;

            winner.close(); // stops the server it took over; the other takes it over in turn
            Wait.until("the other runs it", Duration.ofSeconds(60), () -> other.runsTheServer() && answers(other));
            other.close();
            assertThat(Files.exists(dataDir.resolve("pg/postmaster.pid"))).as("whoever runs it last stops it").isFalse();
        } finally {
            firstChecks.shutdownNow();
            secondChecks.shutdownNow();
        }
    }

    private static boolean answers(LocalPostgres server) {
        try (Connection connection = connect(server)) {
            return connection.isValid(5);
        } catch (SQLException e) {
            return false;
        }
    }

    private static Connection connect(LocalPostgres server) throws SQLException {
        ConnectionTarget target = server.target();
        return DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password());
    }

    @Test
    void a_taken_port_stops_the_start_within_seconds_with_the_reason_from_postgres_log(@TempDir Path dataDir) throws Exception {
        LocalPostgres.startOrAttach(dataDir, Map.of(), 0).close(); // the first start runs initdb; only the second is timed
        try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            long start = System.nanoTime();

            assertThatThrownBy(() -> LocalPostgres.startOrAttach(dataDir, Map.of(), taken.getLocalPort()))
                    .isInstanceOf(PostgresDidNotStart.class)
                    .hasMessageContaining("could not bind IPv4 address \"127.0.0.1\": Address already in use")
                    .hasMessageContaining(dataDir.resolve("postgres.log").toString());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("PostgreSQL's exit is noticed, not waited out")
                    .isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void only_the_password_from_a_file_only_its_owner_can_read_lets_in(@TempDir Path dataDir) throws Exception {
        try (LocalPostgres server = LocalPostgres.startOrAttach(dataDir, Map.of(), 0)) {
            Path passwordFile = dataDir.resolve("pg-password");
            String url = server.target().jdbcUrl();

            String password = Files.readString(passwordFile).strip();

            assertThat(Files.getPosixFilePermissions(passwordFile)).containsExactlyInAnyOrder(OWNER_READ, OWNER_WRITE);
            assertThat(Files.readString(dataDir.resolve("postgres.log"))).as("setting it logged nothing of it").doesNotContain(password);
            assertRefusesStrangers(url);
            try (Connection connection = DriverManager.getConnection(url, "postgres", password);
                 var statement = connection.createStatement()) {
                var listen = statement.executeQuery("SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')");
                listen.next();
                assertThat(listen.getString(1)).as("loopback only").isEqualTo("127.0.0.1");
                assertThat(listen.getString(2)).as("no Unix socket to bypass the password").isEmpty();
            }
        }
    }

    /** The log quotes rows (a key a unique constraint refused): no other user of the machine reads it, or the folder. */
    @Test
    void the_data_folder_parley_makes_and_its_postgres_log_are_the_owners_alone(@TempDir Path parent) throws Exception {
        Path dataDir = parent.resolve("made-by-parley");
        Path log = dataDir.resolve("postgres.log");
        try (LocalPostgres server = LocalPostgres.startOrAttach(dataDir, Map.of(), 0)) {
            assertThat(Files.getPosixFilePermissions(dataDir)).containsExactlyInAnyOrder(OWNER_READ, OWNER_WRITE, OWNER_EXECUTE);
            assertThat(Files.getPosixFilePermissions(log)).containsExactlyInAnyOrder(OWNER_READ, OWNER_WRITE);
            assertThat(Files.size(log)).as("PostgreSQL writes its log there").isPositive();
        }
        // An older Parley's log, readable by everyone: the next start makes it the owner's alone.
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-r--r--"));
        LocalPostgres.startOrAttach(dataDir, Map.of(), 0).close();
        assertThat(Files.getPosixFilePermissions(log)).containsExactlyInAnyOrder(OWNER_READ, OWNER_WRITE);
    }

    @Test
    void a_data_folder_an_older_parley_made_without_a_password_gets_one_and_keeps_its_data(@TempDir Path dataDir) throws Exception {
        // What Parley did before: zonky's initdb with trust authentication, and no password file.
        try (EmbeddedPostgres old = EmbeddedPostgres.builder().setDataDirectory(dataDir.resolve("pg")).setCleanDataDirectory(false).start()) {
            try (Connection connection = old.getPostgresDatabase().getConnection(); var statement = connection.createStatement()) {
                statement.execute("CREATE DATABASE " + LocalPostgres.DATABASE);
            }
            try (Connection connection = old.getDatabase("postgres", LocalPostgres.DATABASE).getConnection();
                 var statement = connection.createStatement()) {
                statement.execute("CREATE TABLE kept AS SELECT 'written before the upgrade' AS note");
            }
        }

        try (LocalPostgres upgraded = LocalPostgres.startOrAttach(dataDir, Map.of(), 0);
             Database database = TestDatabase.pool(upgraded.target(), 1)) {
            assertThat(Files.getPosixFilePermissions(dataDir.resolve("pg-password"))).containsExactlyInAnyOrder(OWNER_READ, OWNER_WRITE);
            assertRefusesStrangers(upgraded.target().jdbcUrl());
            Optional<String> note = database.read(handle -> handle.first(new Query("test.kept", "SELECT note FROM kept"),
                    r -> r.getString(1)));
            assertThat(note).contains("written before the upgrade");
        }
    }

    /** No password is refused (pgjdbc says the server asked for one), and so is a wrong one. */
    private static void assertRefusesStrangers(String url) {
        assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", null).close())
                .isInstanceOf(SQLException.class).hasMessageContaining("no password was provided");
        assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "guessed").close())
                .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
    }
}
