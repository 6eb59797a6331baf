package dev.parley.http;

import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.List;

/**
 * One row of the route table: what it answers, what it runs, and what the OpenAPI document says
 * about it. The document is generated from these rows, so a route cannot exist undocumented.
 */
record Route(
        HandlerType method,
        String path,
        String operationId,
        String summary,
        Handler handler,
        Class<?> body,
        int status,
        Class<?> response,
        List<QueryParam> query,
        boolean authenticated,
        boolean linesBody,
        List<Integer> otherStatuses,
        boolean streamed,
        boolean reachableByUserTokens,
        boolean reads) {

    /**
     * A documented query parameter; {@code type} is an OpenAPI scalar type. An integer may have bounds and a
     * default, a string a set of values; RequestBoundsTest holds the handlers to them.
     */
    record QueryParam(String name, String type, String description, boolean required, Integer minimum, Integer maximum,
                      Integer byDefault, List<String> values, Integer maxLength) {
        QueryParam(String name, String type, String description) {
            this(name, type, description, false, null, null, null, List.of(), null);
        }
    }

    static Route of(HandlerType method, String path, String operationId, String summary, Handler handler) {
        return new Route(method, path, operationId, summary, handler, null, 200, null, List.of(), true, false, List.of(), false, false,
                method == HandlerType.GET || method == HandlerType.HEAD);
    }

    Route body(Class<?> type) {
        return new Route(method, path, operationId, summary, handler, type, status, response, query, authenticated, linesBody, otherStatuses, streamed, reachableByUserTokens, reads);
    }

    Route returns(int code, Class<?> type) {
        return new Route(method, path, operationId, summary, handler, body, code, type, query, authenticated, linesBody, otherStatuses, streamed, reachableByUserTokens, reads);
    }

    Route query(String name, String type, String description) {
        return query(new QueryParam(name, type, description));
    }

    /** A query parameter the request must carry. */
    Route requiredQuery(String name, String type, String description) {
        return query(new QueryParam(name, type, description, true, null, null, null, List.of(), null));
    }

    /** A text of at most {@code maxBytes} bytes of UTF-8 (the document's maxLength: the same for ASCII). */
    Route text(String name, boolean required, int maxBytes, String description) {
        return query(new QueryParam(name, "string", description + " (up to " + maxBytes + " bytes)", required, null, null,
                null, List.of(), maxBytes));
    }

    /** A number from 0 to 1, as an importance is. */
    Route fraction(String name, String description) {
        return query(new QueryParam(name, "number", description, false, 0, 1, null, List.of(), null));
    }

    /** A count from 1 to {@code max}, {@code byDefault} when absent: a page's size, say. */
    Route count(String name, int byDefault, int max, String description) {
        return query(new QueryParam(name, "integer", description + ", 1-" + max + " (default " + byDefault + ")",
                false, 1, max, byDefault, List.of(), null));
    }

    /** A string parameter that takes one of {@code values}. */
    Route oneOf(String name, List<String> values, String description) {
        return query(new QueryParam(name, "string", description, false, null, null, null, List.copyOf(values), null));
    }

    private Route query(QueryParam parameter) {
        List<QueryParam> more = new ArrayList<>(query);
        more.add(parameter);
        return new Route(method, path, operationId, summary, handler, body, status, response, List.copyOf(more), authenticated, linesBody, otherStatuses, streamed, reachableByUserTokens, reads);
    }

    /** Another success status with the same body (an upsert: 201 created, 200 updated). */
    Route alsoAnswers(int code) {
        List<Integer> more = new ArrayList<>(otherStatuses);
        more.add(code);
        return new Route(method, path, operationId, summary, handler, body, status, response, query, authenticated, linesBody,
                List.copyOf(more), streamed, reachableByUserTokens, reads);
    }

    /** A GET answered as a stream as it is read: no ETag, no 304 (an export). */
    Route streamedAnswer() {
        return new Route(method, path, operationId, summary, handler, body, status, response, query, authenticated, linesBody,
                otherStatuses, true, reachableByUserTokens, reads);
    }

    /** A GET whose 200 carries an ETag, and so answers If-None-Match (304) and If-Match (412): not a stream, not raw JSON. */
    boolean answersEtag() {
        return method == HandlerType.GET && response != null && response != com.fasterxml.jackson.databind.JsonNode.class && !streamed;
    }

    /** Every success status, the main one first. */
    List<Integer> statuses() {
        List<Integer> all = new ArrayList<>(List.of(status));
        all.addAll(otherStatuses);
        return all;
    }

    /**
     * A route a user token reaches too (a browser or phone acting for one user), for that user's data only:
     * see {@link UserTokenAccess}. Without this, a route takes the app's key alone.
     */
    Route forUserTokens() {
        return new Route(method, path, operationId, summary, handler, body, status, response, query, authenticated, linesBody,
                otherStatuses, streamed, true, reads);
    }

    /**
     * A POST that only reads (a recall, a context built from an embedding): a user token needs the {@code read}
     * scope for it, not {@code write}. A GET or HEAD reads already; every other route writes.
     */
    Route onlyReads() {
        return new Route(method, path, operationId, summary, handler, body, status, response, query, authenticated, linesBody,
                otherStatuses, streamed, reachableByUserTokens, true);
    }

    /** The scope a user token needs here: {@code read} for a route that only reads, else {@code write}. */
    String scope() {
        return reads ? "read" : "write";
    }

    /** A route anyone may call, without an API key (health, metrics, the API document). */
    Route open() {
        return new Route(method, path, operationId, summary, handler, body, status, response, query, false, linesBody, otherStatuses, streamed, reachableByUserTokens, reads);
    }

    /** A route whose body is NDJSON, one JSON object per line, read as it arrives (an import). */
    Route linesOfJson() {
        return new Route(method, path, operationId, summary, handler, body, status, response, query, authenticated, true, otherStatuses, streamed, reachableByUserTokens, reads);
    }
}
