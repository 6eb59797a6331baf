package dev.parley.bench;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Operation weights. "chat" is a session: open the app (inbox), open a conversation (history,
 * context with memories), talk; now and then search the messages or look up what a character remembers,
 * and, as a bot does before it answers, count what its character said in the last hour or read a
 * conversation's messages of one kind. One operation alone is named as the option names it: window-count.
 */
final class Mix {
    private final Operation[] wheel;
    private final Operation[] each;

    private Mix(Map<Operation, Integer> weights) {
        wheel = weights.entrySet().stream()
                .flatMap(e -> java.util.stream.Stream.generate(e::getKey).limit(e.getValue()))
                .toArray(Operation[]::new);
        each = weights.keySet().toArray(Operation[]::new);
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
                weights.put(Operation.WINDOW_COUNT, 2);
                weights.put(Operation.FILTERED_HISTORY, 2);
            }
            case "read" -> {
                weights.put(Operation.INBOX, 30);
                weights.put(Operation.HISTORY, 50);
                weights.put(Operation.CONTEXT, 20);
            }
            case "write" -> weights.put(Operation.APPEND, 100);
            case "mark-read" -> weights.put(Operation.READ, 1); // "read" is the mix above
            default -> weights.put(operation(name), 1);
        }
        return new Mix(weights);
    }

    /** The one operation {@code name} names as --mix does (window-count), or an IllegalArgumentException listing the mixes. */
    private static Operation operation(String name) {
        for (Operation operation : Operation.values()) {
            if (operation != Operation.READ && optionName(operation).equals(name)) { // READ is "mark-read": "read" is a mix
                return operation;
            }
        }
        throw new IllegalArgumentException("--mix takes chat, read, write, or one operation: " + java.util.Arrays.stream(Operation.values())
                .map(operation -> operation == Operation.READ ? "mark-read" : optionName(operation))
                .collect(java.util.stream.Collectors.joining(", ")) + "; not '" + name + "'");
    }

    private static String optionName(Operation operation) {
        return operation.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The operations this mix draws. */
    java.util.List<Operation> operations() {
        return java.util.List.of(each);
    }

    /** A phase's draws, shared by its workers. */
    Draws draws() {
        return new Draws();
    }

    /**
     * Each operation of the mix once, then operations at random by weight: so a short phase on a busy
     * machine still measures every operation of the mix, the rare ones (weight 1 in 100) too.
     */
    final class Draws {
        private final AtomicInteger drawn = new AtomicInteger();

        Operation next(SplittableRandom random) {
            if (drawn.get() < each.length) {
                int i = drawn.getAndIncrement();
                if (i < each.length) {
                    return each[i];
                }
            }
            return wheel[random.nextInt(wheel.length)];
        }
    }
}
