package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonFormat;

/** A memory recalled for the next reply, as the app and the model see it: whose it is, what it says, how relevant. */
public record Remembered(@JsonFormat(shape = JsonFormat.Shape.STRING) long id,
                         @JsonFormat(shape = JsonFormat.Shape.STRING) long userId, String content, double relevance) {
    static Remembered of(Memory memory, double relevance) {
        return new Remembered(memory.id(), memory.userId(), memory.content(), relevance);
    }
}
