package dev.parley.http;

import dev.parley.chat.Conflict;
import dev.parley.chat.GroupCommit;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.NotFound;
import dev.parley.chat.StaleVersion;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.PoolSaturated;
import dev.parley.memory.RecallScoring;
import dev.parley.json.Json;
import io.javalin.http.Context;
import org.eclipse.jetty.http.HttpStatus;
import io.javalin.http.HttpResponseException;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place where failures become HTTP responses. A 500 means a bug, and is logged with an id the client sees. */
final class Problems {
    private static final Logger LOG = LoggerFactory.getLogger(Problems.class);

    private Problems() {
    }

    private static final String WRITTEN = "parley.problem-written";
    /** The SQLSTATE of a write to a month while it is copied into the archive (V19's trigger). */
    private static final String ARCHIVING = "PA001";
    /** A row whose id falls in no partition: an archived month's range (Archive). */
    private static final String NO_PARTITION = "23514";
    /** When a client may try again after a lock or statement timeout: a lock holder often lets go within seconds. */
    private static final String BUSY_RETRY_AFTER = "2";

    /** Writes the problem for {@code failure} to the response. */
    static void respond(Throwable failure, Context ctx) {
        ctx.attribute(WRITTEN, true);
        Problem problem = toProblem(failure, ctx.path()).forRequest(RequestIds.of(ctx));
        ctx.status(problem.status());
        switch (failure) {
            case Unauthorized u -> ctx.header("WWW-Authenticate", "Bearer realm=\"parley\"");
            case PoolSaturated p -> ctx.header("Retry-After", "1");
            case DatabaseUnavailable d -> ctx.header("Retry-After", "1");
            case GroupCommit.ShuttingDown s -> ctx.header("Retry-After", "1");
            case Drain.ShuttingDown s -> ctx.header("Retry-After", "1");
            case GroupCommit.AppendNotConfirmed a -> ctx.header("Retry-After", "1");
            case GroupCommit.Backlogged b -> ctx.header("Retry-After", "1");
            case RecallScoring.Busy b -> ctx.header("Retry-After", "1");
            case TooManyRequests t -> ctx.header("Retry-After", String.valueOf(t.retryAfterSeconds()));
            // The rest of the body may still come, and would be read as the next request: this connection is done.
            case BadRequest b when b.status() == 408 -> ctx.header("Connection", "close");
            case DatabaseFailure d when ARCHIVING.equals(d.sqlState()) -> ctx.header("Retry-After", "5");
            case DatabaseFailure d when d.timedOut() -> ctx.header("Retry-After", BUSY_RETRY_AFTER);
            case DatabaseFailure d when d.deadlocked() -> ctx.header("Retry-After", "1");
            default -> {
            }
        }
        ctx.contentType(Problem.CONTENT_TYPE).result(Json.writeBytes(problem));
    }

    static Problem toProblem(Throwable failure, String path) {
        return switch (failure) {
            case InvalidInput e -> new Problem(Problem.TYPE_BASE + "invalid-request", "Invalid request", 400,
                    e.getMessage(), path, List.of(new Problem.FieldError(e.field(), e.getMessage())), null);
            case BadRequest e -> new Problem(Problem.TYPE_BASE + e.slug(), title(e.slug()), e.status(), e.getMessage(), path,
                    fieldErrors(e.field(), e.getMessage()), null);
            case NotFound e -> Problem.of(404, "not-found", "Not found", e.getMessage(), path);
            case Conflict e -> new Problem(Problem.TYPE_BASE + e.type(), "Conflict", 409, e.getMessage(), path,
                    fieldErrors(e.field(), e.getMessage()), null);
            case StaleVersion e -> Problem.of(412, "precondition-failed", "Precondition failed", e.getMessage(), path);
            case Unauthorized e -> Problem.of(401, "unauthorized", "Unauthorized", e.getMessage(), path);
            case Forbidden e -> Problem.of(403, "forbidden", "Forbidden", e.getMessage(), path);
            case TooManyRequests e -> Problem.of(429, "rate-limited", "Too many requests", e.getMessage(), path);
            case DatabaseFailure e when "23503".equals(e.sqlState()) -> Problem.of(409, "referenced-row-gone", "Conflict",
                    "something this request refers to was deleted while it ran; check it still exists and retry", path);
            case DatabaseFailure e when ARCHIVING.equals(e.sqlState()) -> Problem.of(503, "month-archiving", "Month being archived",
                    "the month this message belongs to is being moved into the archive; retry in a few seconds (it is then read-only)", path);
            case DatabaseFailure e when NO_PARTITION.equals(e.sqlState()) && String.valueOf(e.getMessage()).contains("no partition")
                    -> Problem.of(409, "month-archived", "Conflict", "created_at falls in a month that takes no new messages: "
                    + "it is archived, and archived months are read-only", path);
            case DatabaseFailure e when e.lockTimedOut() -> Problem.of(503, "database-busy", "Database busy",
                    "a row or table this request needs was locked by other work for longer than PARLEY_LOCK_TIMEOUT (behind "
                    + "PgBouncer, the lock_timeout its connect_query sets); the transaction it waited in was rolled back: "
                    + "retry shortly", path);
            case DatabaseFailure e when e.timedOut() -> Problem.of(503, "database-busy", "Database busy",
                    "the database did not finish this request's statement within PARLEY_STATEMENT_TIMEOUT (behind PgBouncer, "
                    + "the statement_timeout its connect_query sets), or an operator cancelled it; its transaction was rolled "
                    + "back: retry shortly", path);
            case DatabaseFailure e when e.deadlocked() -> Problem.of(503, "database-busy", "Database busy",
                    "this request's transaction and another locked the same rows in opposite orders, and PostgreSQL rolled "
                    + "this one back to free the other; nothing was changed: retry shortly", path);
            case PoolSaturated e -> Problem.of(503, "pool-saturated", "Service busy", e.getMessage(), path);
            case DatabaseUnavailable e -> Problem.of(503, "database-unavailable", "Database unavailable", e.getMessage(), path);
            case GroupCommit.ShuttingDown e -> shuttingDown(path);
            case Drain.ShuttingDown e -> shuttingDown(path);
            case GroupCommit.AppendNotConfirmed e -> Problem.of(503, "append-not-confirmed", "Append not confirmed", e.getMessage(), path);
            case GroupCommit.Backlogged e -> Problem.of(503, "append-backlog", "Appends backlogged", e.getMessage(), path);
            case RecallScoring.Busy e -> Problem.of(503, "recall-busy", "Recall busy", e.getMessage(), path);
            case HttpResponseException e -> fromJavalin(e, path);
            default -> internal(failure, path);
        };
    }

    /** The problem's errors: the one field it names, with its detail, or none (null) when it names no field. */
    private static List<Problem.FieldError> fieldErrors(String field, String detail) {
        return field == null ? null : List.of(new Problem.FieldError(field, detail));
    }

    /**
     * A problem type's title, the same for every problem of the type (RFC 9457): "Invalid request" on a 415, a 403 or a
     * body that is not JSON said less than the type does.
     */
    static String title(String slug) {
        String words = slug.replace('-', ' ').replace("json", "JSON");
        return Character.toUpperCase(words.charAt(0)) + words.substring(1);
    }

    private static Problem fromJavalin(HttpResponseException e, String path) {
        return switch (e.getStatus()) {
            case 404 -> Problem.of(404, "not-found", "Not found", "no route matches " + path, path);
            case 405 -> Problem.of(405, "method-not-allowed", "Method not allowed", e.getMessage(), path);
            case 413 -> Problem.of(413, "payload-too-large", "Payload too large",
                    "the request body is larger than the limit (PARLEY_MAX_BODY)", path);
            default -> Problem.of(e.getStatus(), "http-" + e.getStatus(), e.getMessage(), e.getMessage(), path);
        };
    }

    private static Problem internal(Throwable failure, String path) {
        String id = UUID.randomUUID().toString();
        LOG.error("internal error {} on {}", id, path, failure);
        return Problem.of(500, "internal-error", "Internal error",
                "an internal error occurred; it is logged as " + id, path);
    }

    /** This instance is draining for a stop: the request was not run, so any retry, here or elsewhere, is safe. */
    static Problem shuttingDown(String path) {
        return Problem.of(503, "shutting-down", "Shutting down",
                "this Parley instance is shutting down and took no new work; retry, against another instance if there is one", path);
    }

    /** The reason {@link JsonErrorHandler} gives for a request target that is not the host:port it had to be. */
    static final String BAD_AUTHORITY = "Bad Authority";

    /** Why a CONNECT is refused, with any target. */
    static final String NO_TUNNELS = "Parley opens no tunnels (CONNECT): send the method and path of a route";

    /**
     * Problems Jetty itself raises before a request reaches a route: a request it could not parse, a request line or
     * headers past {@code headerBytes}. {@code path} is null when not even the URI could be read: the problem's
     * instance is then the request's id, as a URN.
     */
    static Problem unparsed(int status, String reason, String path, String requestId, int headerBytes) {
        String instance = path != null ? path : "urn:parley:request:" + requestId;
        Problem problem = switch (status) {
            case 400 -> Problem.of(400, "malformed-request", "Malformed request", path != null
                    ? "the request is not well-formed HTTP/1.1: " + reason
                    : BAD_AUTHORITY.equals(reason)
                    ? "the request's target is not host:port, the only target CONNECT takes (or an absolute URI's authority "
                    + "that is not host:port); " + NO_TUNNELS
                    : "the request's URI could not be read: a path may not hold an encoded NUL (%00), a lone % or a control character",
                    instance);
            case 404 -> Problem.of(404, "not-found", "Not found", "no route matches " + instance
                    + (instance.equals("*") ? ": ask OPTIONS of a path, not of the server as a whole" : ""), instance);
            case 414 -> Problem.of(414, "uri-too-long", "URI too long", "the request line (method, path and query string) "
                    + "is longer than the " + headerBytes + " bytes Parley reads; send large values in a body", instance);
            case 431 -> Problem.of(431, "headers-too-large", "Request headers too large",
                    "the request's header fields are longer than the " + headerBytes + " bytes Parley reads", instance);
            case 417 -> Problem.of(417, "expectation-failed", "Expectation failed",
                    "Parley meets no Expect but 100-continue; send the request without the header", instance);
            case 426, 505 -> Problem.of(status, "unsupported-http-version", "Unsupported HTTP version",
                    "Parley reads HTTP/1.1 (and HTTP/1.0) requests; send this one as HTTP/1.1"
                            + (reason == null || reason.equals(HttpStatus.getMessage(status)) ? "" : " (" + reason + ")"),
                    instance);
            default -> Problem.of(status, "http-" + status, HttpStatus.getMessage(status),
                    reason == null ? HttpStatus.getMessage(status) : reason, instance);
        };
        return problem.forRequest(requestId);
    }

    /** Whether {@link #respond} already wrote this response's body. */
    static boolean written(Context ctx) {
        return Boolean.TRUE.equals(ctx.attribute(WRITTEN));
    }
}
