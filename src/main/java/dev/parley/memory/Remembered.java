package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonFormat;

/** A memory recalled for the next reply, as the app and the model see it. */
public record Remembered(@JsonFormat(shape = JsonFormat.Shape.STRING) long id, String content, double relevance) {
}
