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

    /**
     * A problem's texts quote what the client sent (a field's name, a value); what would make the document itself
     * unreadable, a lone UTF-16 surrogate (no UTF-8 encodes one) or a control character, is shown as its escape.
     */
    public Problem {
        detail = escaped(detail);
        instance = escaped(instance);
    }

    /** One rejected request field, named as the client sent it ({@code messages[3].content}). */
    public record FieldError(String field, String detail) {
        public FieldError {
            field = escaped(field);
            detail = escaped(detail);
        }
    }

    /** {@code text} with each lone surrogate and control character written as an escape: a backslash, u, four hex digits. */
    static String escaped(String text) {
        if (text == null || text.chars().noneMatch(c -> Character.isSurrogate((char) c) || Character.isISOControl(c))) {
            return text;
        }
        var out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
            if (pair) {
                out.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c) || Character.isISOControl(c)) {
                out.append(String.format("\\u%04X", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    static Problem of(int status, String slug, String title, String detail, String instance) {
        return new Problem(TYPE_BASE + slug, title, status, detail, instance, null, null);
    }

    /** The same problem, naming the request it answers (X-Request-Id). */
    Problem forRequest(String id) {
        return new Problem(type, title, status, detail, instance, errors, id);
    }
}
