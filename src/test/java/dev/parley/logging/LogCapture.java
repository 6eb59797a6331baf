package dev.parley.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.spi.MDCAdapter;

/** A logback context of its own (levels, MDC) whose every event one encoder writes into memory, as the console appender would. */
final class LogCapture {
    private final LoggerContext context = new LoggerContext();
    private final ByteArrayOutputStream written = new ByteArrayOutputStream();

    LogCapture(Encoder<ILoggingEvent> encoder) {
        context.setMDCAdapter(new LogbackMDCAdapter());
        encoder.setContext(context);
        encoder.start();
        var appender = new OutputStreamAppender<ILoggingEvent>();
        appender.setContext(context);
        appender.setEncoder(encoder);
        appender.setOutputStream(written);
        appender.start();
        var root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.TRACE);
        root.addAppender(appender);
    }

    Logger logger(String name) {
        return context.getLogger(name);
    }

    /** This context's MDC, which the service fills through {@code org.slf4j.MDC} in the real one. */
    MDCAdapter mdc() {
        return context.getMDCAdapter();
    }

    List<String> lines() {
        return written.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
