package dev.parley.support;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A tiny HTTP client for one app's API key; every call is a real request. */
public final class Api {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String base;
    private final String key;

    public Api(String base, String key) {
        this.base = base;
        this.key = key;
    }

    public String base() {
        return base;
    }

    public String key() {
        return key;
    }

    /** The same server, another key (possibly another app's, or none). */
    public Api withKey(String otherKey) {
        return new Api(base, otherKey);
    }

    /** A response with its status, headers and body parsed as JSON when it is JSON. */
    public record Response(int status, String contentType, HttpResponse<byte[]> raw) {
        public JsonNode json() {
            try {
                return Json.MAPPER.readTree(raw.body());
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + text(), e);
            }
        }

        public String text() {
            return new String(raw.body(), StandardCharsets.UTF_8);
        }

        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }

        public boolean isProblem() {
            return contentType != null && contentType.startsWith("application/problem+json");
        }

        @Override
        public String toString() {
            return status + " " + text();
        }
    }

    public Response get(String path) {
        return send("GET", path, null, List.of());
    }

    /** A GET with extra headers, as name, value pairs. */
    public Response get(String path, String... headers) {
        return send("GET", path, null, List.of(headers));
    }

    public Response delete(String path) {
        return send("DELETE", path, null, List.of());
    }

    public Response post(String path, Object body, String... headers) {
        return send("POST", path, body(body), List.of(headers));
    }

    public Response put(String path, Object body) {
        return send("PUT", path, body(body), List.of());
    }

    public Response patch(String path, Object body) {
        return send("PATCH", path, body(body), List.of());
    }

    /** Sends raw bytes: malformed JSON, invalid UTF-8, huge bodies. */
    public Response sendBytes(String method, String path, byte[] body, String... headers) {
        return send(method, path, body, List.of(headers));
    }

    /** Like {@link #post} but returns the JSON body and fails unless the status is {@code expected}. */
    public JsonNode postOk(int expected, String path, Object body, String... headers) {
        Response response = post(path, body, headers);
        if (response.status() != expected) {
            throw new AssertionError("POST " + path + " expected " + expected + " but got " + response);
        }
        return response.json();
    }

    public JsonNode getOk(String path) {
        Response response = get(path);
        if (response.status() != 200) {
            throw new AssertionError("GET " + path + " expected 200 but got " + response);
        }
        return response.json();
    }

    private static byte[] body(Object body) {
        if (body == null) {
            return null;
        }
        return body instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : Json.writeBytes(body);
    }

    /** Each server's API document, by base URL; empty for a server without one (an admin port). */
    private static final java.util.Map<String, java.util.Optional<Contract>> CONTRACTS = new java.util.concurrent.ConcurrentHashMap<>();
    /** The contract of each document text: every instance serves the same one, and its schemas compile once. */
    private static final java.util.Map<String, Contract> BY_DOCUMENT = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Every response a test receives from an API port is checked against that server's API document: a
     * status, content type or body the document does not describe fails the test that received it.
     */
    private void keptTo(String method, String path, HttpResponse<byte[]> response, String contentType) throws IOException {
        if (path.startsWith("/openapi.json")) {
            return;
        }
        var contract = CONTRACTS.computeIfAbsent(base, Api::contractOf);
        if (contract.isEmpty()) {
            return;
        }
        byte[] body = decoded(response);
        contract.ifPresent(c -> {
            List<String> broken = c.check(method, path, response.statusCode(), contentType, body, response.headers().map().keySet());
            if (!broken.isEmpty()) {
                throw new AssertionError("the response breaks the API document:\n  " + String.join("\n  ", broken)
                        + "\n  body: " + new String(body, StandardCharsets.UTF_8));
            }
        });
    }

    /** The body as sent before any gzip. */
    private static byte[] decoded(HttpResponse<byte[]> response) throws IOException {
        if (!"gzip".equals(response.headers().firstValue("Content-Encoding").orElse(null)) || response.body().length == 0) {
            return response.body();
        }
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(response.body()))) {
            return in.readAllBytes();
        }
    }

    private static java.util.Optional<Contract> contractOf(String base) {
        try {
            var response = CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/openapi.json")).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? java.util.Optional.of(BY_DOCUMENT.computeIfAbsent(response.body(), Contract::new))
                    : java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.empty(); // a server that does not answer has no document to keep to
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return java.util.Optional.empty();
        }
    }

    private Response send(String method, String path, byte[] body, List<String> headers) {
        var builder = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            builder.header("Authorization", "Bearer " + key);
        }
        List<String> all = new ArrayList<>(headers);
        if (body != null && all.stream().noneMatch(h -> h.equalsIgnoreCase("Content-Type"))) {
            all.addAll(List.of("Content-Type", "application/json"));
        }
        for (int i = 0; i + 1 < all.size(); i += 2) {
            builder.header(all.get(i), all.get(i + 1));
        }
        try {
            HttpResponse<byte[]> response = CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
            String contentType = response.headers().firstValue("Content-Type").orElse(null);
            keptTo(method, path, response, contentType);
            return new Response(response.statusCode(), contentType, response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
