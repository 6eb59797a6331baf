package dev.parley.http;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The order the route table is handed to Javalin in. Javalin tries a method's routes one after another,
 * a regular expression each, and answers with the first that matches: the history page, the table's
 * 17th GET, paid 16 failed matches on every request, about 5 % of the server's CPU for a cached page
 * (docs/benchmarks.md, "Routes a chat turn calls, matched first"). The routes a chat turn calls go
 * first. A route may only move ahead of routes that no path matches together with it, so every path
 * still reaches the route it reached in table order; a hot route that would not is a mistake in this
 * list, refused when the server starts.
 */
final class RouteOrder {
    /** The operations a chat turn calls, most frequent first. */
    static final List<String> HOT = List.of("getHistory", "appendMessage", "getContext", "buildContext", "recallMemories",
            "getInbox", "getConversation", "markRead", "setTyping", "getTyping", "getCharacter", "getUser");

    private RouteOrder() {
    }

    /** The table with the {@link #HOT} routes first, in that order, and the others after them in table order. */
    static List<Route> hotFirst(List<Route> table) {
        Map<String, Route> byOperation = table.stream().collect(Collectors.toMap(Route::operationId, Function.identity()));
        SequencedSet<Route> ordered = new LinkedHashSet<>();
        for (String operation : HOT) {
            Route hot = byOperation.get(operation);
            if (hot == null) {
                throw new IllegalStateException("RouteOrder.HOT names " + operation + ", which the route table lacks");
            }
            for (Route before : table.subList(0, table.indexOf(hot))) {
                if (!ordered.contains(before) && before.method() == hot.method() && overlap(before.path(), hot.path())) {
                    throw new IllegalStateException(hot.method() + " " + hot.path() + " cannot go first: a path can match "
                            + before.path() + " too, which the table puts before it");
                }
            }
            ordered.add(hot);
        }
        ordered.addAll(table);
        return List.copyOf(ordered);
    }

    /**
     * Whether one request path can match both templates: as many segments, each pair equal or one of them a
     * {@code {parameter}}. A template with a wildcard or a {@code <parameter>} (which spans slashes) is taken to
     * match everything another does.
     */
    static boolean overlap(String a, String b) {
        if (spans(a) || spans(b)) {
            return true;
        }
        String[] left = a.split("/", -1);
        String[] right = b.split("/", -1);
        if (left.length != right.length) {
            return false;
        }
        for (int i = 0; i < left.length; i++) {
            if (!left[i].equals(right[i]) && !parameter(left[i]) && !parameter(right[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean spans(String template) {
        return template.contains("*") || template.contains("<");
    }

    private static boolean parameter(String segment) {
        return segment.startsWith("{") && segment.endsWith("}");
    }
}
