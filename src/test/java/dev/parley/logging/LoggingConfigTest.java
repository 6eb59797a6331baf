package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The configurator on a logback context of each test's own, steered by the system properties as surefire sets them. */
class LoggingConfigTest {
    private static final String FORMAT = "parley.log.format";
    private static final String LEVEL = "parley.log.level";

    private final Map<String, String> before = new HashMap<>();
    private final LoggerContext context = new LoggerContext();

    @AfterEach
    void restoreProperties() {
        before.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
    }

    @Test
    void json_at_the_chosen_level_for_parleys_loggers_only() {
        configure("json", "debug");

        assertThat(encoder()).isInstanceOf(JsonLogLines.class);
        assertThat(context.getLogger("dev.parley.db.QueryLog").getEffectiveLevel()).isEqualTo(Level.DEBUG);
        assertThat(context.getLogger("parley.slow-query").getEffectiveLevel()).isEqualTo(Level.DEBUG);
        assertThat(context.getLogger("org.eclipse.jetty.server.Server").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("com.zaxxer.hikari.HikariDataSource").getEffectiveLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void text_when_the_format_says_so() {
        configure("text", "error");

        assertThat(encoder()).isInstanceOf(TextLogLines.class);
        assertThat(context.getLogger("dev.parley").getEffectiveLevel()).isEqualTo(Level.ERROR);
    }

    @Test
    void a_wrong_level_falls_back_to_info_with_one_warning_line_naming_the_setting() throws Exception {
        String err = capturingErrors(() -> configure("json", "loud"));

        assertThat(context.getLogger("dev.parley").getEffectiveLevel()).isEqualTo(Level.INFO);
        assertThat(err.lines()).hasSize(1);
        JsonNode warning = new ObjectMapper().readTree(err);
        assertThat(warning.get("level").asText()).isEqualTo("WARN");
        assertThat(warning.get("logger").asText()).isEqualTo(LoggingConfig.class.getName());
        assertThat(warning.get("message").asText()).isEqualTo(
                "PARLEY_LOG_LEVEL (parley.log.level) must be one of trace, debug, info, warn, error, got 'loud'; using info");
    }

    @Test
    void a_wrong_format_is_reported_even_when_the_level_would_hide_warnings() {
        String err = capturingErrors(() -> configure("yaml", "error"));

        assertThat(err.lines()).singleElement().asString()
                .contains("WARN").contains("PARLEY_LOG_FORMAT (parley.log.format) must be one of json, text, auto, got 'yaml'");
        assertThat(context.getLogger("dev.parley").getEffectiveLevel()).isEqualTo(Level.ERROR);
    }

    @Test
    void logback_takes_this_configuration_through_the_service_file() {
        var running = (LoggerContext) LoggerFactory.getILoggerFactory();

        Logger root = running.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.WARN);
        assertThat(root.getAppender("console")).isNotNull();
        assertThat(running.getLogger("dev.parley").getLevel()).as("set by surefire's parley.log.level").isEqualTo(Level.WARN);
    }

    private void configure(String format, String level) {
        setProperty(FORMAT, format);
        setProperty(LEVEL, level);
        context.setMDCAdapter(new LogbackMDCAdapter());
        var configurator = new LoggingConfig();
        configurator.setContext(context);
        assertThat(configurator.configure(context)).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
    }

    private void setProperty(String name, String value) {
        before.putIfAbsent(name, System.getProperty(name));
        System.setProperty(name, value);
    }

    private Object encoder() {
        var console = (OutputStreamAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("console");
        return console.getEncoder();
    }

    /** What is written to standard error, where the console appender writes, while {@code action} runs. */
    private static String capturingErrors(Runnable action) {
        PrintStream original = System.err;
        var captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
