package dev.parley.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialects;
import dev.parley.json.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The API document as a contract: finds the operation a response answered and checks the response's
 * status, content type and body against what the document says of it.
 */
public final class Contract {
    private static final String ID = "https://parley.dev/openapi.json";
    /** Parley sends back what it stores, however deep (JSON planted by other writers too), inside its own objects. */
    private static final com.fasterxml.jackson.databind.ObjectMapper READER = new com.fasterxml.jackson.databind.ObjectMapper(
            com.fasterxml.jackson.core.JsonFactory.builder()
                    .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_BIG_NUMBER_PARSER) // 131,072-digit numbers
                    .streamReadConstraints(
                    com.fasterxml.jackson.core.StreamReadConstraints.builder().maxNestingDepth(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).build()).build());

    private final JsonNode document;
    private final SchemaRegistry registry;
    private final List<Path> paths = new ArrayList<>();
    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

    private record Path(String template, Pattern pattern, JsonNode item) {
    }

    public Contract(String documentText) {
        this.document = Json.parse(documentText);
        this.registry = SchemaRegistry.withDialect(Dialects.getOpenApi31(), builder -> builder.schemas(Map.of(ID, documentText)));
        Iterator<Map.Entry<String, JsonNode>> entries = document.get("paths").fields();
        while (entries.hasNext()) {
            var entry = entries.next();
            String regex = "^" + entry.getKey().replaceAll("\\{[a-z_]+}", "[^/]+") + "$";
            paths.add(new Path(entry.getKey(), Pattern.compile(regex), entry.getValue()));
        }
    }

    /** What is wrong with this response by the document; empty when nothing is. */
    public List<String> check(String method, String rawPath, int status, String contentType, byte[] body) {
        return check(method, rawPath, status, contentType, body, name -> true);
    }

    /**
     * As above, and the headers: every one the document says the response always carries is there, and every one
     * it carries beyond HTTP's own (and CORS's) is one the document lists for it. {@code sent}: the headers' names.
     */
    public List<String> check(String method, String rawPath, int status, String contentType, byte[] body,
                              java.util.Collection<String> sent) {
        java.util.Set<String> names = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        names.addAll(sent);
        List<String> broken = new ArrayList<>(check(method, rawPath, status, contentType, body, names::contains));
        response(method, rawPath, status).ifPresent(response -> {
            java.util.Set<String> documented = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
            response.path("headers").fieldNames().forEachRemaining(documented::add);
            for (String name : names) {
                if (!documented.contains(name) && !HTTP_HEADERS.contains(name.toLowerCase(Locale.ROOT))
                        && !name.toLowerCase(Locale.ROOT).startsWith("access-control-") && !name.startsWith(":")) {
                    broken.add(method + " " + withoutQuery(rawPath) + " answered " + status + ": a " + name
                            + " header the document does not list for it");
                }
            }
        });
        return broken;
    }

    /** Headers of HTTP itself, which the document does not list: framing, caching keys, dates, the server. */
    private static final java.util.Set<String> HTTP_HEADERS = java.util.Set.of("content-type", "content-length", "date",
            "vary", "content-encoding", "transfer-encoding", "connection", "keep-alive", "server", "allow");

    /** The document's response for this status of the operation answering {@code method} on the path, if any. */
    private Optional<JsonNode> response(String method, String rawPath, int status) {
        return operationPointer(method, withoutQuery(rawPath)).map(pointer -> {
            JsonNode responses = document.at(pointer).get("responses");
            return responses.has(String.valueOf(status)) ? responses.get(String.valueOf(status)) : responses.get("default");
        });
    }

    /** As above, and every header the document says the response always carries is there ({@code has} tells). */
    public List<String> check(String method, String rawPath, int status, String contentType, byte[] body,
                              Predicate<String> has) {
        String path = withoutQuery(rawPath);
        String where = method + " " + path + " answered " + status;
        boolean bodiless = body.length == 0 || method.equals("HEAD");
        Optional<String> operation = operationPointer(method, path);
        if (operation.isEmpty()) { // no route: a problem document, as every error is
            return bodiless ? List.of() : validate("#/components/schemas/Problem", body, where);
        }
        JsonNode responses = document.at(operation.get()).get("responses");
        String statusKey = responses.has(String.valueOf(status)) ? String.valueOf(status) : "default";
        if (statusKey.equals("default") && status < 400) {
            return List.of(where + ": the document lists no " + status + " for it");
        }
        JsonNode response = responses.get(statusKey);
        List<String> missing = missingHeaders(response, has, where);
        if (!missing.isEmpty()) {
            return missing;
        }
        JsonNode content = response.get("content");
        if (content == null || bodiless) {
            return content == null && !bodiless ? List.of(where + ": a body the document does not describe") : List.of();
        }
        String type = contentType == null ? "" : contentType.split(";")[0].strip();
        if (!content.has(type)) {
            return List.of(where + ": content type " + type + ", the document says " + content.fieldNames().next());
        }
        return type.endsWith("json")
                ? validate("#" + operation.get() + "/responses/" + statusKey + "/content/" + escaped(type) + "/schema", body, where)
                : List.of();
    }

    /** The JSON pointer of the operation that answers {@code method} on {@code path}. */
    private Optional<String> operationPointer(String method, String path) {
        String verb = method.toLowerCase(Locale.ROOT);
        return paths.stream().filter(p -> p.pattern().matcher(path).matches() && p.item().has(verb)).findFirst()
                .map(p -> "/paths/" + escaped(p.template()) + "/" + verb);
    }

    private static List<String> missingHeaders(JsonNode response, Predicate<String> has, String where) {
        List<String> missing = new ArrayList<>();
        response.path("headers").fields().forEachRemaining(header -> {
            if (header.getValue().path("required").asBoolean() && !has.test(header.getKey())) {
                missing.add(where + ": no " + header.getKey() + " header, which the document says it always has");
            }
        });
        return missing;
    }

    private static String withoutQuery(String rawPath) {
        return rawPath.contains("?") ? rawPath.substring(0, rawPath.indexOf('?')) : rawPath;
    }

    /** A JSON pointer's escaping of one reference token. */
    private static String escaped(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    private List<String> validate(String fragment, byte[] body, String where) {
        Schema schema = schemas.computeIfAbsent(fragment, f -> registry.getSchema(SchemaLocation.of(ID + f)));
        JsonNode value;
        try {
            value = READER.readTree(body);
        } catch (java.io.IOException e) {
            return List.of(where + ": the body is not JSON: " + e.getMessage());
        }
        List<Error> errors = schema.validate(value);
        return errors.stream().map(e -> where + ": " + e).toList();
    }
}
