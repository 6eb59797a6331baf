package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.parley.logging.LogSettings.Format;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class LogSettingsTest {
    @Test
    void by_default_a_terminal_gets_text_and_anything_else_json_at_info() {
        assertThat(LogSettings.read(Map.of(), new Properties(), () -> true))
                .isEqualTo(new LogSettings(Format.TEXT, Level.INFO, true, List.of()));
        assertThat(LogSettings.read(Map.of(), new Properties(), () -> false).format()).isEqualTo(Format.JSON);
        assertThat(LogSettings.read(Map.of("PARLEY_LOG_FORMAT", "auto"), new Properties(), () -> false).format())
                .isEqualTo(Format.JSON);
    }

    @Test
    void the_environment_chooses_format_and_level_whatever_the_terminal() {
        var settings = LogSettings.read(Map.of("PARLEY_LOG_FORMAT", "json", "PARLEY_LOG_LEVEL", "debug"), new Properties(),
                () -> true);

        assertThat(settings.format()).isEqualTo(Format.JSON);
        assertThat(settings.level()).isEqualTo(Level.DEBUG);
        assertThat(LogSettings.read(Map.of("PARLEY_LOG_FORMAT", " Text "), new Properties(), () -> false).format())
                .as("case and spaces do not matter").isEqualTo(Format.TEXT);
    }

    @Test
    void a_system_property_wins_over_its_environment_variable() {
        var properties = new Properties();
        properties.setProperty("parley.log.format", "text");
        properties.setProperty("parley.log.level", "error");

        var settings = LogSettings.read(Map.of("PARLEY_LOG_FORMAT", "json", "PARLEY_LOG_LEVEL", "trace"), properties, () -> false);

        assertThat(settings.format()).isEqualTo(Format.TEXT);
        assertThat(settings.level()).isEqualTo(Level.ERROR);
    }

    @Test
    void an_unknown_value_falls_back_to_the_default_and_says_what_is_accepted() {
        var settings = LogSettings.read(Map.of("PARLEY_LOG_FORMAT", "yaml", "PARLEY_LOG_LEVEL", "verbose"), new Properties(),
                () -> false);

        assertThat(settings.format()).isEqualTo(Format.JSON);
        assertThat(settings.level()).isEqualTo(Level.INFO);
        assertThat(settings.mistakes()).containsExactly(
                "PARLEY_LOG_FORMAT (parley.log.format) must be one of json, text, auto, got 'yaml'; using auto",
                "PARLEY_LOG_LEVEL (parley.log.level) must be one of trace, debug, info, warn, error, got 'verbose'; using info");
    }

    @Test
    void the_access_log_is_on_unless_turned_off() {
        var properties = new java.util.Properties();
        assertThat(LogSettings.read(java.util.Map.of(), properties, () -> false).accessLog()).isTrue();
        assertThat(LogSettings.read(java.util.Map.of("PARLEY_ACCESS_LOG", "off"), properties, () -> false).accessLog()).isFalse();
        assertThat(LogSettings.read(java.util.Map.of("PARLEY_ACCESS_LOG", "maybe"), properties, () -> false).mistakes())
                .singleElement().asString().contains("PARLEY_ACCESS_LOG");
    }
}
