package dev.parley.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.slf4j.event.KeyValuePair;

/**
 * Writes each event for a person at a terminal as one line, {@code time LEVEL logger  message key=value …}
 * with the logger's short name, followed by the stack trace when there is one.
 */
final class TextLogLines extends EncoderBase<ILoggingEvent> {
    /** Values that would not read back as one word are quoted. */
    private static final Pattern PLAIN = Pattern.compile("[^\\s\"=\\\\]+");

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        var line = new StringBuilder(160)
                .append(LogTimes.format(event.getInstant())).append(' ')
                .append("%-5s ".formatted(event.getLevel()))
                .append(shortName(event.getLoggerName())).append("  ")
                .append(oneLine(String.valueOf(event.getFormattedMessage())));
        event.getMDCPropertyMap().forEach((key, value) -> pair(line, key, value));
        for (KeyValuePair pair : JsonLogLines.keyValues(event)) {
            pair(line, pair.key, pair.value);
        }
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null && !JsonLogLines.stackWanted(event)) {
            pair(line, "error", JsonLogLines.error(thrown));
        }
        line.append('\n');
        if (thrown != null && JsonLogLines.stackWanted(event)) {
            line.append(ThrowableProxyUtil.asString(thrown));
        }
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    /** {@code parley.slow-query} reads as {@code slow-query}, {@code dev.parley.db.QueryLog} as {@code QueryLog}. */
    static String shortName(String logger) {
        return logger.substring(logger.lastIndexOf('.') + 1);
    }

    private static void pair(StringBuilder line, String key, Object value) {
        String text = String.valueOf(value);
        line.append(' ').append(key).append('=');
        if (PLAIN.matcher(text).matches()) {
            line.append(text);
        } else {
            line.append('"').append(oneLine(text.replace("\\", "\\\\").replace("\"", "\\\""))).append('"');
        }
    }

    /** A line break inside a message would pass for a new event; it is shown as {@code \n} instead. */
    private static String oneLine(String text) {
        return text.replace("\r", "\\r").replace("\n", "\\n");
    }
}
