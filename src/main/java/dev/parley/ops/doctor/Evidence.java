package dev.parley.ops.doctor;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The measurements behind a finding, as named values in the order they were added (snake_case names). */
final class Evidence {
    private final Map<String, Object> values = new LinkedHashMap<>();

    Evidence with(String name, Object value) {
        if (value != null) {
            values.put(name, value);
        }
        return this;
    }

    @JsonValue
    Map<String, Object> values() {
        return Collections.unmodifiableMap(values);
    }
}
