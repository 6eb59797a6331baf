package dev.parley.bench;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Operation weights. "chat" is a session: open the app (inbox), open a conversation (history,
 * context with memories), talk; now and then search the messages or look up what a character remembers.
 */
final class Mix {
    private final Operation[] wheel;

    private Mix(Map<Operation, Integer> weights) {
        wheel = weights.entrySet().stream()
                .flatMap(e -> java.util.stream.Stream.generate(e::getKey).limit(e.getValue()))
                .toArray(Operation[]::new);
    }

    static Mix named(String name) {
        Map<Operation, Integer> weights = new EnumMap<>(Operation.class);
        switch (name) {
            case "chat" -> {
                weights.put(Operation.INBOX, 15);
                weights.put(Operation.HISTORY, 28);
                weights.put(Operation.CONTEXT, 15);
                weights.put(Operation.APPEND, 25);
                weights.put(Operation.READ, 10);
                weights.put(Operation.BROWSE, 3);
                weights.put(Operation.SEARCH, 3);
                weights.put(Operation.RECALL, 1);
            }
            case "read" -> {
                weights.put(Operation.INBOX, 30);
                weights.put(Operation.HISTORY, 50);
                weights.put(Operation.CONTEXT, 20);
            }
            case "write" -> weights.put(Operation.APPEND, 100);
            default -> {
                Operation only = Operation.valueOf(name.toUpperCase(java.util.Locale.ROOT));
                weights.put(only, 1);
            }
        }
        return new Mix(weights);
    }

    Operation next(SplittableRandom random) {
        return wheel[random.nextInt(wheel.length)];
    }
}
