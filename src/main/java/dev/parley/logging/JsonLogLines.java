package dev.parley.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.parley.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.event.KeyValuePair;

/**
 * Writes each event as one JSON object on one line: time, level, logger, message, the MDC and the
 * event's key-values as top-level fields, then error and stack when there is a throwable (no stack for a warning of
 * the connection pool's: {@link #stackWanted}).
 */
final class JsonLogLines extends EncoderBase<ILoggingEvent> {
    /** Names whose meaning is fixed, so a query on {@code message} or {@code error} never finds a caller's value. */
    private static final List<String> FIXED = List.of("time", "level", "logger", "message", "error", "stack");
    /** The connection pool's loggers, whose warnings come without their stack traces ({@link #stackWanted}). */
    private static final String POOL = "com.zaxxer.hikari.";

    private final JsonFactory json = Json.MAPPER.getFactory(); // its buffers pooled across threads, as for responses

    // Room for an access line (about 350 bytes) without growing the buffer and copying it.
    private static final int LINE_BYTES = 512;

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        var line = new ByteArrayOutputStream(LINE_BYTES);
        try (JsonGenerator out = json.createGenerator(line)) {
            write(event, out);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write a log line in memory", e);
        }
        line.write('\n');
        return line.toByteArray();
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    private static void write(ILoggingEvent event, JsonGenerator out) throws IOException {
        // The MDC's and key-values' names, a handful, searched in order: a hash set was a quarter of a line's allocation.
        List<String> taken = new ArrayList<>();
        out.writeStartObject();
        out.writeStringField("time", LogTimes.format(event.getInstant()));
        out.writeStringField("level", event.getLevel().toString());
        out.writeStringField("logger", event.getLoggerName());
        out.writeStringField("message", event.getFormattedMessage());
        for (Map.Entry<String, String> entry : event.getMDCPropertyMap().entrySet()) {
            out.writeStringField(unique(entry.getKey(), "mdc_", taken), entry.getValue());
        }
        for (KeyValuePair pair : keyValues(event)) {
            out.writeFieldName(unique(pair.key, "kv_", taken));
            writeValue(pair.value, out);
        }
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            out.writeStringField("error", error(thrown));
            if (stackWanted(event)) {
                out.writeStringField("stack", ThrowableProxyUtil.asString(thrown).stripTrailing());
            }
        }
        out.writeEndObject();
    }

    /** A throwable as one line: its class, and its message when it has one. */
    static String error(IThrowableProxy thrown) {
        return thrown.getMessage() == null ? thrown.getClassName() : thrown.getClassName() + ": " + thrown.getMessage();
    }

    /**
     * Whether an event's stack trace is written: not for a warning of the connection pool's. HikariCP warns of every
     * connection an outage breaks with a trace of 40 lines (a database restart: one per pooled connection, 400 lines),
     * while Parley's DatabaseWatch says in one line that the database went and when it came back; the warning's own
     * line, with its error, stays.
     */
    static boolean stackWanted(ILoggingEvent event) {
        return !(event.getLevel() == Level.WARN && event.getLoggerName().startsWith(POOL));
    }

    /** The name itself, or with the prefix (repeated) until no field already written carries it. */
    private static String unique(String name, String prefix, List<String> taken) {
        String field = name;
        while (FIXED.contains(field) || taken.contains(field)) {
            field = prefix + field;
        }
        taken.add(field);
        return field;
    }

    /** The key-values the fluent API added ({@code log.atInfo().addKeyValue(…)}); logback gives null for none. */
    static List<KeyValuePair> keyValues(ILoggingEvent event) {
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        return pairs == null ? List.of() : pairs;
    }

    /** Numbers and booleans stay JSON numbers and booleans, so a query can compare {@code status >= 500}. */
    private static void writeValue(Object value, JsonGenerator out) throws IOException {
        switch (value) {
            case null -> out.writeNull();
            case Boolean b -> out.writeBoolean(b);
            case BigDecimal d -> out.writeNumber(d);
            case BigInteger i -> out.writeNumber(i);
            case Double d -> out.writeNumber(d);
            case Float f -> out.writeNumber(f);
            case Number n -> out.writeNumber(n.longValue()); // Integer, Long, Short, Byte, AtomicLong …
            default -> out.writeString(value.toString());
        }
    }
}
