package dev.parley.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.io.Console;
import java.util.List;

/**
 * Configures logback in code when slf4j starts: one appender on standard error ({@link BufferedConsole}) writing JSON
 * or text lines ({@code PARLEY_LOG_FORMAT}), Parley's loggers at {@code PARLEY_LOG_LEVEL}, libraries
 * at warn. Logback finds it through {@code META-INF/services}; there is no logback.xml.
 */
// Above DEFAULT, so it runs before any configurator without a rank; CUSTOM_TOP stays free for a deployment's own.
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LoggingConfig extends ContextAwareBase implements Configurator {
    /** Parley's own loggers: its classes, and named ones such as {@code parley.slow-query}. */
    private static final List<String> PARLEY = List.of("dev.parley", "parley");
    /** The line per request, at info: PARLEY_ACCESS_LOG=off turns it off alone. */
    private static final String ACCESS = "parley.access";
    /**
     * Jetty's parser of a host and port, which warns of every malformed one a client sends ({@code Host: x:abc} is "Bad
     * port [abc]", a CONNECT to a path "Bad Authority"): Parley answers those 400 malformed-request, and a client's
     * mistake is not something for an operator to look into.
     */
    private static final String JETTY_HOST_PORT = "org.eclipse.jetty.util.HostPort";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        apply(context, LogSettings.read(System.getenv(), System.getProperties(), LoggingConfig::terminalAttached));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY; // neither logback.xml nor logback's debug-level default
    }

    private static void apply(LoggerContext context, LogSettings settings) {
        var console = console(context, settings.format() == LogSettings.Format.JSON ? new JsonLogLines() : new TextLogLines());
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN); // Jetty, HikariCP, Flyway, Lettuce, embedded PostgreSQL: only when something is wrong
        root.addAppender(console);
        context.getLogger(JETTY_HOST_PORT).setLevel(Level.ERROR);
        PARLEY.forEach(name -> context.getLogger(name).setLevel(settings.level()));
        if (!settings.accessLog()) {
            context.getLogger(ACCESS).setLevel(Level.OFF);
        }
        Logger self = context.getLogger(LoggingConfig.class);
        for (String mistake : settings.mistakes()) {
            console.doAppend(new LoggingEvent(Logger.FQCN, self, Level.WARN, mistake, null, null)); // appended: no level hides it
        }
    }

    private static BufferedConsole console(LoggerContext context, Encoder<ILoggingEvent> lines) {
        lines.setContext(context);
        lines.start();
        var console = new BufferedConsole();
        console.setContext(context);
        console.setName("console");
        console.setEncoder(lines);
        console.start();
        return console;
    }

    /** Turns the access log off, for a process whose requests are its own (parley bench's load). */
    public static void silenceAccessLog() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            context.getLogger(ACCESS).setLevel(Level.OFF);
        }
    }

    /**
     * For a command (not the server): HikariCP's warnings of a broken connection come with a full stack trace, which
     * to an operator running a command is noise over the one line the command prints for an outage. Its errors stay.
     */
    public static void quietPoolWarnings() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            context.getLogger("com.zaxxer.hikari").setLevel(Level.ERROR);
        }
    }

    /** Whether a person is watching; from Java 22 a console exists even when redirected and only isTerminal() tells. */
    private static boolean terminalAttached() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console); // compiled for 21, which lacks it
        } catch (NoSuchMethodException e) {
            return true; // Java 21 gives a console only to a terminal
        } catch (ReflectiveOperationException e) {
            return false; // cannot tell: JSON, which a machine and a person can both read
        }
    }
}
