package dev.parley.http;

import io.javalin.http.HandlerType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** The methods each path of the route table answers, for the {@code Allow} header of a 405. */
final class AllowedMethods {
    private final Map<Pattern, Set<String>> byPath = new LinkedHashMap<>();

    AllowedMethods(List<Route> routes) {
        for (Route route : routes) {
            Pattern path = Pattern.compile(route.path().replaceAll("\\{[a-z_]+}", "[^/]+"));
            Set<String> methods = byPath.computeIfAbsent(path, p -> new TreeSet<>());
            methods.add(route.method().name());
            if (route.method() == HandlerType.GET) {
                methods.add(HandlerType.HEAD.name());
            }
        }
    }

    /** "GET, HEAD, PATCH": every method some route answers at {@code path}. */
    String at(String path) {
        Set<String> methods = new TreeSet<>();
        byPath.forEach((pattern, answered) -> {
            if (pattern.matcher(path).matches()) {
                methods.addAll(answered);
            }
        });
        return String.join(", ", methods);
    }
}
