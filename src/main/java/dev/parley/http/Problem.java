package dev.parley.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.parley.json.Nullable;
import java.util.List;

/**
 * An RFC 9457 problem document, the body of every error response. {@code type} is stable and
 * meant for code; {@code detail} is meant for the developer reading it; {@code requestId} is the
 * request's X-Request-Id.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String instance, @Nullable List<FieldError> errors,
                      @Nullable String requestId) {
    public static final String CONTENT_TYPE = "application/problem+json";
    static final String TYPE_BASE = "https://parley.dev/problems/";

    /** One rejected request field, named as the client sent it ({@code messages[3].content}). */
    public record FieldError(String field, String detail) {
    }

    static Problem of(int status, String slug, String title, String detail, String instance) {
        return new Problem(TYPE_BASE + slug, title, status, detail, instance, null, null);
    }

    /** The same problem, naming the request it answers (X-Request-Id). */
    Problem forRequest(String id) {
        return new Problem(type, title, status, detail, instance, errors, id);
    }
}
