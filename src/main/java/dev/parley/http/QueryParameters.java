package dev.parley.http;

import io.javalin.http.Handler;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The query parameters a route declares ({@link Route#query}) are the only ones it takes, each once:
 * a guessed filter ({@code ?name=x}) would otherwise be ignored and answer every row with 200.
 */
final class QueryParameters {
    private QueryParameters() {
    }

    /** {@code handler}, refusing first any query parameter {@code route} does not declare, or one given twice. */
    static Handler declaredOnly(Route route, Handler handler) {
        Set<String> declared = new TreeSet<>(route.query().stream().map(Route.QueryParam::name).toList());
        return ctx -> {
            check(declared, ctx.queryParamMap());
            handler.handle(ctx);
        };
    }

    static void check(Set<String> declared, Map<String, List<String>> given) {
        for (var parameter : given.entrySet()) {
            String name = parameter.getKey();
            if (!declared.contains(name)) {
                throw new BadRequest(400, "invalid-request", name, declared.isEmpty()
                        ? name + " is not a query parameter of this request; it takes none"
                        : name + " is not a query parameter of this request; known parameters: " + declared);
            }
            if (parameter.getValue().size() > 1) {
                throw new BadRequest(400, "invalid-request", name, name + " is given " + parameter.getValue().size()
                        + " times; it takes one value" + (name.equals("ids") ? " (a comma-separated list)" : ""));
            }
        }
    }
}
