package dev.parley.http;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The methods each path of a server answers, for the {@code Allow} header of a 405. Where a path
 * fits two templates, the one with fewer parameters is the path's: {@code …/messages/batch} is the batch
 * route's (POST), not a message whose id is "batch".
 */
final class AllowedMethods {
    private record Template(String path, Pattern pattern, int parameters, Set<String> methods) {
    }

    private final Map<String, Template> byPath = new LinkedHashMap<>();

    AllowedMethods(List<Route> routes) {
        for (Route route : routes) {
            add(route.method(), route.path());
            if (route.method() == HandlerType.GET) { // the API port answers HEAD wherever it answers GET
                add(HandlerType.HEAD, route.path());
            }
        }
    }

    /** None yet: a server without a route table (the admin port) adds its endpoints as Javalin registers them. */
    AllowedMethods() {
    }

    void add(HandlerType method, String path) {
        byPath.computeIfAbsent(path, template -> new Template(template,
                Pattern.compile(template.replaceAll("\\{[a-z_]+}", "[^/]+")), parameters(template), new TreeSet<>()))
                .methods().add(method.name());
    }

    /** Answers 405 for a method {@code ctx}'s path does not take, naming those it does in Allow and in the problem. */
    void refuse(Context ctx) {
        String methods = at(ctx.path());
        ctx.header("Allow", methods);
        Problems.respond(new HttpResponseException(405, ctx.method() + " is not allowed on " + ctx.path()
                + "; it answers " + methods), ctx);
    }

    private static int parameters(String path) {
        return path.split("\\{", -1).length - 1;
    }

    /** "GET, HEAD, PATCH": every method the most specific templates that fit {@code path} answer. */
    private String at(String path) {
        List<Template> fitting = fitting(path);
        int fewest = fitting.stream().mapToInt(Template::parameters).min().orElse(0);
        Set<String> methods = new TreeSet<>();
        fitting.stream().filter(template -> template.parameters() == fewest).forEach(template -> methods.addAll(template.methods()));
        return String.join(", ", methods);
    }

    /**
     * Whether {@code path}, which the route of {@code template} matched (a parameter took a literal, "batch"),
     * belongs to a template with fewer parameters: then it is that route's path, and the method is not allowed on it.
     */
    boolean belongsElsewhere(String template, String path) {
        Template matched = byPath.get(template);
        return matched != null && fitting(path).stream().anyMatch(other -> other.parameters() < matched.parameters());
    }

    /** Whether some route's template is more specific than {@code template} somewhere: only then is a request's path checked. */
    boolean mayBeShadowed(String template) {
        Template matched = byPath.get(template);
        return byPath.values().stream().anyMatch(other -> other.parameters() < matched.parameters()
                && matched.pattern().matcher(other.path().replaceAll("\\{[a-z_]+}", "x")).matches());
    }

    private List<Template> fitting(String path) {
        List<Template> fitting = new ArrayList<>();
        for (Template template : byPath.values()) {
            if (template.pattern().matcher(path).matches()) {
                fitting.add(template);
            }
        }
        return fitting;
    }
}
