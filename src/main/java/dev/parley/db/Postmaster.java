package dev.parley.db;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One PostgreSQL data folder and the postmaster this process runs on it. The postmaster is this JVM's
 * child in a session of its own ({@code setsid}): a Ctrl-C meant for Parley does not reach it, and
 * its exit is known at once ({@link #exited()}) and reaped, never left a zombie.
 */
final class Postmaster {
    private static final Logger LOG = LoggerFactory.getLogger(Postmaster.class);
    static final String SUPERUSER = "postgres";

    /** Crash recovery of a large WAL takes a while; a server not ready after this is given up. */
    private static final Duration STARTUP_LIMIT = Duration.ofMinutes(5);

    /** Only loopback TCP, only with the password; no Unix socket is opened (see {@link #start()}). */
    private static final String PASSWORD_ONLY = """
            # Written by Parley: connections from this machine over TCP, with the superuser's password.
            host    all    all    127.0.0.1/32    scram-sha-256
            """;

    /** What PostgreSQL and its tools write when something fails, and the hint that follows. */
    private static final Pattern REASON = Pattern.compile("FATAL|PANIC|ERROR|HINT|could not|error:|hint:|cannot");
    /** PostgreSQL's default log_line_prefix, "%m [%p] ": time, zone and pid. */
    private static final Pattern LINE_PREFIX = Pattern.compile("^\\d{4}-\\d\\d-\\d\\d \\S+ \\S+ \\[\\d+\\] ");

    private final PostgresBinaries binaries;
    private final Path dataDir;
    private final Path logFile;
    private final int port;
    private final Map<String, String> settings;
    private volatile Process process;

    Postmaster(PostgresBinaries binaries, Path dataDir, Path logFile, int port, Map<String, String> serverConfig) {
        this.binaries = binaries;
        this.dataDir = dataDir;
        this.logFile = logFile;
        this.port = port;
        this.settings = withLoopbackOnly(serverConfig);
    }

    /** The caller's settings, then the ones Parley insists on: UTC sessions, loopback TCP only, no Unix socket. */
    private static Map<String, String> withLoopbackOnly(Map<String, String> serverConfig) {
        var settings = new LinkedHashMap<String, String>();
        settings.put("timezone", "UTC");
        settings.putAll(serverConfig);
        settings.put("listen_addresses", "127.0.0.1");
        settings.put("unix_socket_directories", "");
        return settings;
    }

    boolean initialized() {
        return Files.exists(dataDir.resolve("PG_VERSION"));
    }

    /**
     * Creates the data folder with trust authentication; {@link #requirePassword} then closes it. Its locale is C.UTF-8,
     * not the one the caller's environment names: a shell's C or POSIX (a container's usual) folds no letter outside
     * ASCII, so a search for "école" would not find "École", and a locale the machine lacks (a LANG forwarded over ssh)
     * stopped initdb. Where there is no C.UTF-8 (macOS), the environment's, as before.
     */
    void initdb() {
        List<String> arguments = List.of("-A", "trust", "-U", SUPERUSER, "-D", dataDir.toString(), "-E", "UTF-8");
        List<String> inCUtf8 = new ArrayList<>(arguments);
        inCUtf8.add("--locale=C.UTF-8");
        try {
            runToSuccess("initdb", binaries.command("initdb", inCUtf8.toArray(String[]::new)), "");
        } catch (PostgresDidNotStart e) {
            if (!String.valueOf(e.getMessage()).contains("invalid locale name \"C.UTF-8\"")) {
                throw e;
            }
            LOG.info("there is no locale C.UTF-8 here; the embedded PostgreSQL takes the environment's (LANG, LC_*)");
            runToSuccess("initdb", binaries.command("initdb", arguments.toArray(String[]::new)), "");
        }
    }

    /**
     * Sets the superuser's password and from then on lets in only loopback TCP connections that present it.
     * The password is set in single-user mode, so no connection is ever accepted without it.
     */
    void requirePassword(String password) {
        if (!password.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("a generated password is URL-safe base64, so it can be quoted in SQL as it is");
        }
        runToSuccess("setting the superuser's password",
                binaries.command("postgres", "--single", "-D", dataDir.toString(), "-c", "password_encryption=scram-sha-256", "postgres"),
                "ALTER ROLE " + SUPERUSER + " PASSWORD '" + password + "'\n");
        try {
            Files.writeString(dataDir.resolve("pg_hba.conf"), PASSWORD_ONLY);
        } catch (IOException e) {
            throw new PostgresDidNotStart("could not write " + dataDir.resolve("pg_hba.conf") + "; check the folder is writable", e);
        }
    }

    /** Starts the postmaster and waits until it accepts connections; fails as soon as it exits instead. */
    void start() {
        List<String> command = new ArrayList<>(List.of("setsid"));
        command.addAll(binaries.command("postgres", arguments()));
        long logStart = logSize();
        try {
            Process started = launch(command);
            started.getOutputStream().close();
            awaitReady(started, logStart);
            process = started;
            LOG.info("PostgreSQL is running in {} on port {} (pid {}, log: {})", dataDir, port, started.pid(), logFile);
        } catch (IOException e) {
            throw new PostgresDidNotStart("could not run " + command.getFirst() + " for the embedded PostgreSQL in " + dataDir, e);
        }
    }

    private String[] arguments() {
        var arguments = new ArrayList<>(List.of("-D", dataDir.toString(), "-p", Integer.toString(port)));
        settings.forEach((name, value) -> arguments.addAll(List.of("-c", name + "=" + value)));
        return arguments.toArray(String[]::new);
    }

    /** Polls PostgreSQL's lock file, whose eighth line says "ready" once connections are accepted. */
    private void awaitReady(Process started, long logStart) {
        long deadline = System.nanoTime() + STARTUP_LIMIT.toNanos();
        try {
            while (!ready(started.pid())) {
                if (started.waitFor(50, TimeUnit.MILLISECONDS)) {
                    throw failure("did not start (postgres exited with status " + started.exitValue() + ")", logStart);
                }
                if (System.nanoTime() > deadline) {
                    started.destroy();
                    throw failure("was not ready after " + STARTUP_LIMIT.toMinutes() + " minutes", logStart);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            started.destroy();
            throw new PostgresDidNotStart("interrupted while the embedded PostgreSQL in " + dataDir + " was starting", e);
        }
    }

    private boolean ready(long pid) {
        try {
            List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
            return lines.size() >= 8 && lines.get(0).strip().equals(Long.toString(pid)) && lines.get(7).strip().equals("ready");
        } catch (IOException e) {
            return false; // not written yet, or a stale one being replaced
        }
    }

    /** Completes when the running postmaster exits, whoever stopped or killed it. */
    CompletableFuture<Process> exited() {
        return process.onExit();
    }

    long pid() {
        return process.pid();
    }

    /** Whether a postmaster this process started is running. */
    boolean running() {
        Process running = process;
        return running != null && running.isAlive();
    }

    int port() {
        return port;
    }

    Path dataDir() {
        return dataDir;
    }

    /** A fast shutdown (open sessions are ended), waited for; nothing to do when the postmaster already exited. */
    void stop() {
        Process running = process;
        if (running == null || !running.isAlive()) {
            return;
        }
        fastShutdown(running.toHandle());
    }

    /** Stops a postmaster no live process looks after (its Parley was killed): it is not this one's child. */
    void stopOrphan(ProcessHandle orphan) {
        fastShutdown(orphan);
    }

    private void fastShutdown(ProcessHandle running) {
        long logStart = logSize();
        try {
            int status = run(binaries.command("pg_ctl", "stop", "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "30"), "");
            boolean exited = running.onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join() != null;
            if (status != 0 || !exited) {
                LOG.warn("could not stop the embedded PostgreSQL in {} cleanly: {}", dataDir, reason(logStart));
            }
        } catch (IOException e) {
            LOG.warn("could not run pg_ctl to stop the embedded PostgreSQL in {}", dataDir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("interrupted while stopping the embedded PostgreSQL in {}; it may still be running", dataDir);
        }
    }

    private void runToSuccess(String step, List<String> command, String input) {
        long logStart = logSize();
        try {
            int status = run(command, input);
            if (status != 0) {
                throw failure("could not be prepared: " + step + " failed with status " + status, logStart);
            }
        } catch (IOException e) {
            throw new PostgresDidNotStart(step + " could not run for the embedded PostgreSQL in " + dataDir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PostgresDidNotStart("interrupted: " + step + " for the embedded PostgreSQL in " + dataDir, e);
        }
    }

    private int run(List<String> command, String input) throws IOException, InterruptedException {
        Process running = launch(command);
        try (var stdin = running.getOutputStream()) {
            stdin.write(input.getBytes(UTF_8));
        }
        return running.waitFor();
    }

    /**
     * Every program's output goes to the one log, so a failure's reason is always found there. The log quotes rows (a
     * key a constraint refused, say): it is the owner's alone, mode 0600, an older Parley's 0644 log too, in a folder made
     * 0700 if it is missing.
     */
    private Process launch(List<String> command) throws IOException {
        OwnerOnly.directory(logFile.getParent());
        OwnerOnly.file(logFile);
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .start();
    }

    private PostgresDidNotStart failure(String what, long logStart) {
        return new PostgresDidNotStart("the embedded PostgreSQL in " + dataDir + " " + what + ":\n  " + reason(logStart)
                + "\nIts log: " + logFile);
    }

    /** The lines written to the log since {@code logStart} that say what failed, without their time and pid. */
    private String reason(long logStart) {
        List<String> lines = logSince(logStart).stream().map(line -> LINE_PREFIX.matcher(line).replaceFirst("")).toList();
        List<String> reasons = lines.stream().filter(REASON.asPredicate()).toList();
        List<String> shown = reasons.isEmpty() ? lines.subList(Math.max(0, lines.size() - 5), lines.size()) : reasons;
        return shown.isEmpty() ? "(nothing was written to the log)" : String.join("\n  ", shown);
    }

    private List<String> logSince(long offset) {
        try (InputStream in = Files.newInputStream(logFile)) {
            in.skipNBytes(offset);
            return new String(in.readAllBytes(), UTF_8).lines().toList();
        } catch (IOException e) {
            return List.of("(could not read " + logFile + ": " + e.getMessage() + ")");
        }
    }

    private long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            return 0; // then a failure's reason is looked for in the whole log
        }
    }
}
