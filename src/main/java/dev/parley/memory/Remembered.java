package dev.parley.memory;

import com.fasterxml.jackson.annotation.JsonFormat;

/** A memory recalled for the next reply, as the app and the model see it: whose it is, what it says, how relevant. */
public record Remembered(@JsonFormat(shape = JsonFormat.Shape.STRING) long id,
                         @JsonFormat(shape = JsonFormat.Shape.STRING) long userId, String content, double relevance) {
    static Remembered of(Memory memory, double relevance) {
        return new Remembered(memory.id(), memory.userId(), memory.content(), relevance);
    }

    /** A word match's rank, as PostgreSQL gives it (a float4): 0.1, not the 0.10000000149011612 of widening it. */
    static Remembered of(Memory memory, float rank) {
        return of(memory, Double.parseDouble(Float.toString(rank)));
    }
}
