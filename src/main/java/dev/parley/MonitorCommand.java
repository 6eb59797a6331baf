package dev.parley;

import dev.parley.config.Durations;
import dev.parley.json.Json;
import dev.parley.monitor.Overview;
import dev.parley.monitor.OverviewText;
import dev.parley.monitor.Timeline;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = {"A terminal dashboard of a running Parley: requests and latency per route, the costliest statements, "
                + "the pool, cache hit rates, PostgreSQL's connections, cache hit ratio, sizes, growth and replication lag.",
                "Reads the admin port (parley serve prints it). Plain text with colour marks; works over SSH."})
final class MonitorCommand implements Callable<Integer> {
    private static final String CLEAR = "\u001b[H\u001b[2J";

    @Spec
    CommandSpec spec;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8081", description = "The admin port (default ${DEFAULT-VALUE}).")
    String address;

    private URI url; // the address, checked (requireUrl)

    @Option(names = "--key", description = "The admin key, when the server has one (default: env PARLEY_ADMIN_KEY).")
    String key;

    @Option(names = "--once", description = "Print one snapshot and exit (for scripts and CI).")
    boolean once;

    @Option(names = "--interval", defaultValue = "2", description = "Seconds between refreshes (default ${DEFAULT-VALUE}).")
    int interval;

    @Option(names = "--window", defaultValue = "1m", description = "The span rates and percentiles cover, up to 5m (default ${DEFAULT-VALUE}).")
    String window;

    private Duration span; // the window, checked (requireWindow)

    @Option(names = "--color", defaultValue = "auto", description = "auto (when a terminal is attached), always or never.")
    String color;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Clock clock = Clock.systemUTC();

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (interval < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--interval must be at least 1 second");
        }
        span = requireWindow();
        url = requireUrl();
        PrintWriter out = spec.commandLine().getOut();
        boolean colour = switch (color) {
            case "always" -> true;
            case "never" -> false;
            case "auto" -> System.console() != null && !once;
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--color takes auto, always or never, not '" + color + "'");
        };
        boolean terminal = System.console() != null;
        for (boolean first = true; first || !once; first = false) {
            String screen = screen(colour);
            // A terminal's screen is redrawn in place; into a pipe or a file each reading follows the last.
            out.print(once ? screen : terminal ? CLEAR + screen : (first ? "" : "\n") + screen);
            out.flush();
            if (out.checkError()) { // the reader went away (| head): nobody is left to show a reading to
                return 0;
            }
            if (!once) {
                Thread.sleep(Duration.ofSeconds(interval));
            }
        }
        return 0;
    }

    /**
     * The overview as a screen. Without --once, when the admin port does not give it (the server restarting, say), a
     * screen that says why and when, and that the next refresh tries again: the monitor ended at the first such refresh,
     * though it redraws until Ctrl-C. With --once, the failure is the command's.
     */
    private String screen(boolean colour) throws IOException, InterruptedException {
        try {
            return OverviewText.render(overview(), url.toString(), colour);
        } catch (IOException e) {
            if (once || e instanceof Refused) {
                throw e;
            }
            return OverviewText.unanswered(url.toString(), clock.instant(), e.getMessage(), Duration.ofSeconds(interval), colour);
        }
    }

    /**
     * The admin port's address as given: http or https, a host, a port from 1 to 65535 if any, and nothing after it, as
     * the overview's path is the monitor's to add (a path given would be dropped, looking heeded). A usage error else.
     */
    private URI requireUrl() {
        URI parsed;
        try {
            parsed = new URI(address);
        } catch (URISyntaxException e) {
            parsed = null;
        }
        boolean valid = parsed != null && parsed.getHost() != null
                && List.of("http", "https").contains(String.valueOf(parsed.getScheme()))
                && (parsed.getPort() == -1 || parsed.getPort() >= 1 && parsed.getPort() <= 65535)
                && (parsed.getRawPath() == null || parsed.getRawPath().isEmpty() || parsed.getRawPath().equals("/"))
                && parsed.getRawQuery() == null && parsed.getRawFragment() == null && parsed.getRawUserInfo() == null;
        if (!valid) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--url takes the admin port's address, "
                    + "such as http://127.0.0.1:8081, with a port from 1 to 65535 and no path, not '" + address + "'");
        }
        return parsed;
    }

    /** Whether the connection failed for want of the host's address (its name is known to no resolver). */
    private static boolean unresolved(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof UnresolvedAddressException || cause instanceof java.net.UnknownHostException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The window as the admin port takes it, checked here: a usage error, not the server's problem document. Read as
     * every command reads a duration ("1 m" too), and sent as read: "1 m" as given was no URL's query.
     */
    private Duration requireWindow() {
        Duration span;
        try {
            span = Durations.parse(window);
        } catch (IllegalArgumentException e) {
            span = Duration.ZERO;
        }
        if (span.compareTo(Duration.ofSeconds(1)) < 0 || span.compareTo(Timeline.MAX_WINDOW) > 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--window must be a span from 1s to "
                    + Durations.format(Timeline.MAX_WINDOW) + " such as 30s or 1m, not '" + window + "'");
        }
        return span;
    }

    /**
     * An answer no later refresh will change (an unknown host, a refused key, a server without the overview): the
     * monitor ends with it, refreshing or not, where nothing answering or a 5xx (a server restarting) is tried again.
     */
    private static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }

        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private Overview overview() throws IOException, InterruptedException {
        String adminKey = key != null ? key : System.getenv("PARLEY_ADMIN_KEY");
        var request = HttpRequest.newBuilder(url.resolve("/admin/overview?window=" + Durations.format(span))).timeout(Duration.ofSeconds(10));
        if (adminKey != null) {
            request.header("Authorization", "Bearer " + adminKey);
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            if (unresolved(e)) {
                throw new Refused("no host is known by the name " + url.getHost() + " (--url " + url + ")", e);
            }
            throw new IOException("nothing answers at " + url + ": is Parley running, and is this its admin port "
                    + "(parley serve prints it; --admin-port)?", e);
        }
        if (response.statusCode() == 401) {
            throw new Refused(adminKey == null ? "the admin port wants its key: --key or PARLEY_ADMIN_KEY"
                    : "the admin port refused the key given (" + (key != null ? "--key" : "PARLEY_ADMIN_KEY")
                    + "): it is not the PARLEY_ADMIN_KEY the server was started with");
        }
        if (response.statusCode() == 404) { // the API's port, or another server: it has no overview
            throw new Refused(url + " has no /admin/overview: is this Parley's admin port (parley serve prints it; "
                    + "--admin-port), not its API port?");
        }
        if (response.statusCode() != 200) {
            throw new IOException(url + "/admin/overview answered " + response.statusCode() + ": " + response.body());
        }
        Overview overview;
        try {
            overview = Json.MAPPER.readValue(response.body(), Overview.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            overview = null;
        }
        if (overview == null || overview.time() == null || overview.requests() == null || overview.pool() == null
                || overview.database() == null) {
            throw new Refused(url + "/admin/overview answered, but not with Parley's overview: is this Parley's admin "
                    + "port (parley serve prints it; --admin-port)?");
        }
        return overview;
    }
}
