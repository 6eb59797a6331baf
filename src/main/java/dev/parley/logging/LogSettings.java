package dev.parley.logging;

import ch.qos.logback.classic.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;

/**
 * How Parley logs, read once when logging starts; a value it does not know falls back to the default
 * and is kept in {@code mistakes}, because a typo in a log setting must not stop the service.
 */
record LogSettings(Format format, Level level, boolean accessLog, List<String> mistakes) {
    enum Format { JSON, TEXT }

    /** Each setting from its system property, else its environment variable, else its default. */
    static LogSettings read(Map<String, String> env, Properties properties, BooleanSupplier terminal) {
        var mistakes = new ArrayList<String>();
        String format = Setting.FORMAT.value(env, properties, mistakes);
        String level = Setting.LEVEL.value(env, properties, mistakes);
        String accessLog = Setting.ACCESS_LOG.value(env, properties, mistakes);
        return new LogSettings(switch (format) {
            case "json" -> Format.JSON;
            case "text" -> Format.TEXT;
            default -> terminal.getAsBoolean() ? Format.TEXT : Format.JSON;
        }, Level.toLevel(level), accessLog.equals("on"), List.copyOf(mistakes));
    }

    private enum Setting {
        FORMAT("PARLEY_LOG_FORMAT", "parley.log.format", List.of("json", "text", "auto"), "auto"),
        LEVEL("PARLEY_LOG_LEVEL", "parley.log.level", List.of("trace", "debug", "info", "warn", "error"), "info"),
        ACCESS_LOG("PARLEY_ACCESS_LOG", "parley.access.log", List.of("on", "off"), "on");

        private final String variable;
        private final String property;
        private final List<String> accepted;
        private final String fallback;

        Setting(String variable, String property, List<String> accepted, String fallback) {
            this.variable = variable;
            this.property = property;
            this.accepted = accepted;
            this.fallback = fallback;
        }

        String value(Map<String, String> env, Properties properties, List<String> mistakes) {
            String given = properties.getProperty(property, env.get(variable));
            if (given == null) {
                return fallback;
            }
            String value = given.strip().toLowerCase(Locale.ROOT);
            if (accepted.contains(value)) {
                return value;
            }
            mistakes.add("%s (%s) must be one of %s, got '%s'; using %s".formatted(
                    variable, property, String.join(", ", accepted), given, fallback));
            return fallback;
        }
    }
}
