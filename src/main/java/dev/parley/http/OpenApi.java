package dev.parley.http;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.cache.Versioned;
import dev.parley.chat.Limits;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import io.javalin.http.HandlerType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Builds the OpenAPI 3.1 document from the route table and the records the routes read and write. */
final class OpenApi {
    private static final Pattern PATH_PARAM = Pattern.compile("\\{([a-z_]+)}");
    private static final PropertyNamingStrategies.NamingBase SNAKE =
            (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;

    /** A record component's name in JSON, as Json.MAPPER writes and reads it: systemPrompt is system_prompt. */
    static String jsonName(RecordComponent component) {
        return SNAKE.translate(component.getName());
    }

    private final ObjectNode schemas = Json.MAPPER.createObjectNode();
    /** This server's limits: the settings some {@link Takes} bounds follow. */
    private final Limits limits;
    /** Each record's schema name: its simple name, or with its enclosing class's when two records share one. */
    private final Map<Class<?>, String> names = new java.util.HashMap<>();

    private OpenApi(Limits limits) {
        this.limits = limits;
    }

    static byte[] document(Collection<Route> routes, Limits limits) {
        return Json.writeBytes(new OpenApi(limits).build(routes));
    }

    private ObjectNode build(Collection<Route> routes) {
        ObjectNode doc = Json.MAPPER.createObjectNode();
        doc.put("openapi", "3.1.0");
        doc.putObject("info").put("title", "Parley").put("version", "1")
                .put("description", "The conversation store for AI chat applications. Ids are strings of digits. "
                        + "Errors are application/problem+json (RFC 9457).");
        doc.putArray("servers").addObject().put("url", "/")
                .put("description", "the Parley that serves this document (parley serve: http://127.0.0.1:8080)");
        ObjectNode paths = doc.putObject("paths");
        for (Route route : routes) {
            ObjectNode item = paths.has(route.path()) ? (ObjectNode) paths.get(route.path()) : paths.putObject(route.path());
            item.set(route.method().name().toLowerCase(Locale.ROOT), operation(route));
        }
        ObjectNode components = doc.putObject("components");
        schemas.set("Problem", schemaOfRecord(Problem.class));
        components.set("schemas", schemas);
        components.putObject("securitySchemes").putObject("apiKey")
                .put("type", "http").put("scheme", "bearer").put("description", "the app's API key (pk_...)");
        ObjectNode headers = components.putObject("headers");
        for (var rateLimit : RATE_LIMIT_HEADERS) {
            header(headers.putObject(rateLimit.getKey()), rateLimit.getValue());
        }
        ((ObjectNode) components.get("securitySchemes")).putObject("userToken")
                .put("type", "http").put("scheme", "bearer").put("description", "a user token (ut_..., POST /v1/users/{user_id}/tokens): "
                        + "the routes that list it, for that user's data only");
        return doc;
    }

    private ObjectNode operation(Route route) {
        ObjectNode op = Json.MAPPER.createObjectNode();
        op.put("operationId", route.operationId()).put("summary", route.summary());
        ArrayNode parameters = op.putArray("parameters");
        Matcher m = PATH_PARAM.matcher(route.path());
        while (m.find()) {
            parameters.addObject().put("name", m.group(1)).put("in", "path").put("required", true)
                    .set("schema", idSchema());
        }
        for (Route.QueryParam q : route.query()) {
            ObjectNode p = parameters.addObject().put("name", q.name()).put("in", "query").put("description", q.description());
            if (q.required()) {
                p.put("required", true);
            }
            ObjectNode schema = p.putObject("schema").put("type", q.type());
            if (q.minimum() != null) {
                schema.put("minimum", q.minimum()).put("maximum", q.maximum());
            }
            if (q.byDefault() != null) {
                schema.put("default", q.byDefault());
            }
            if (q.maxLength() != null) {
                schema.put("maxLength", q.maxLength());
            }
            if (!q.values().isEmpty()) {
                q.values().forEach(schema.putArray("enum")::add);
            }
        }
        if (Preconditions.takesIdempotencyKey(route)) {
            parameters.addObject().put("name", MessageHandlers.IDEMPOTENCY_KEY).put("in", "header")
                    .put("description", "a client-chosen key; a retry with the same key returns the stored message")
                    .putObject("schema").put("type", "string");
        }
        parameters.addObject().put("name", RequestIds.HEADER).put("in", "header")
                .put("description", REQUEST_ID).putObject("schema").put("type", "string").put("pattern", RequestIds.SAFE_PATTERN);
        if (route.body() != null) {
            op.putObject("requestBody").put("required", true).putObject("content").putObject("application/json")
                    .set("schema", ref(route.body()));
        }
        if (route.linesBody()) {
            op.putObject("requestBody").put("required", true).putObject("content").putObject("application/x-ndjson")
                    .putObject("schema").put("type", "string")
                    .put("description", "one JSON object per line, each with a type (character, user, conversation, message, "
                            + "memory) naming what it belongs to by external ids; docs/operations.md, Import");
        }
        boolean conditional = route.answersEtag();
        if (conditional) {
            header(parameters.addObject().put("name", "If-None-Match").put("in", "header"),
                    "the ETag of the version the client holds: a 304 without a body while it is current");
        }
        if (route.reads() && route.authenticated()) {
            header(parameters.addObject().put("name", ConsistencyTokens.HEADER).put("in", "header"),
                    "the token a write answered with: with read replicas, this read sees that write (docs/scaling.md)");
        }
        if (route.method() == HandlerType.PATCH) {
            header(parameters.addObject().put("name", "If-Match").put("in", "header"),
                    "the ETag of the version the change was made against: 412 if it is no longer current");
        } else if (route.method() == HandlerType.DELETE && Preconditions.takesIfMatch(route)) {
            header(parameters.addObject().put("name", "If-Match").put("in", "header"),
                    "the ETag of the version the client means to delete: 412, and nothing deleted, if it is no longer current");
        } else if (conditional) {
            header(parameters.addObject().put("name", "If-Match").put("in", "header"),
                    "an ETag: 412 without a body unless it is the one this answer has");
        }
        ObjectNode responses = op.putObject("responses");
        boolean versioned = route.response() != null && Versioned.class.isAssignableFrom(route.response());
        for (int status : route.statuses()) {
            ObjectNode ok = responses.putObject(String.valueOf(status)).put("description", "success");
            requestIdHeader(ok);
            if (conditional && status == 200) {
                requiredHeader(ok, "ETag", "the version of this answer, for If-None-Match");
                requiredHeader(ok, "Cache-Control", "private: the answer is the app's own, for the client's cache only");
            }
            if (status == 503) { // a health check's "not ready"
                requiredHeader(ok, "Retry-After", "seconds to wait before asking again");
            }
            if (route.method() == HandlerType.GET && route.streamed()) {
                requiredHeader(ok, "Cache-Control", "no-store: the answer is kept by no cache");
                requiredHeader(ok, "Content-Disposition", "attachment, with a file name");
            }
            if (route.method() != HandlerType.GET && status != 204 && (versioned || route.method() == HandlerType.PATCH)) {
                requiredHeader(ok, "ETag", "the version now stored, for the next If-Match");
            }
            if (Preconditions.takesIdempotencyKey(route) && status == 200) {
                requiredHeader(ok, MessageHandlers.REPLAYED, "true: the Idempotency-Key was seen before, and this is the stored "
                        + "answer to it");
            }
            rateLimitHeaders(route, ok);
            if (!route.reads() && route.authenticated()) {
                header(((ObjectNode) ok.get("headers")).putObject(ConsistencyTokens.HEADER),
                        "with read replicas: the position of this write, to send with the reads that must see it");
            }
            if (status == 204) { // no content, whatever the route's other answers carry
                continue;
            }
            if (route.response() == JsonNode.class) {
                ok.putObject("content").putObject("application/json").putObject("schema").put("type", "object");
            } else if (route.response() != null) {
                ok.putObject("content").putObject("application/json").set("schema", ref(route.response()));
            }
        }
        if (conditional) {
            ObjectNode notModified = responses.putObject("304").put("description", "not modified: the If-None-Match given is current");
            requestIdHeader(notModified);
            requiredHeader(notModified, "ETag", "the version the client holds");
            requiredHeader(notModified, "Cache-Control", "private, as the 200 has");
            rateLimitHeaders(route, notModified);
        }
        for (var status : errorStatuses(route).entrySet()) {
            ObjectNode response = responses.putObject(String.valueOf(status.getKey())).put("description", status.getValue());
            requestIdHeader(response);
            if (status.getKey() == 429 || status.getKey() == 503) {
                requiredHeader(response, "Retry-After", "seconds to wait before trying again");
            }
            if (status.getKey() == 401) {
                requiredHeader(response, "WWW-Authenticate", "Bearer realm=\"parley\": the key goes in Authorization: Bearer");
            } else {
                rateLimitHeaders(route, response);
            }
            if (status.getKey() == 400) {
                unroutedHeaders(response);
            }
            response.putObject("content").putObject(Problem.CONTENT_TYPE).set("schema", ref(Problem.class));
        }
        ObjectNode error = responses.putObject("default").put("description", "an error, as a problem document");
        requestIdHeader(error);
        rateLimitHeaders(route, error);
        unroutedHeaders(error);
        error.putObject("content").putObject(Problem.CONTENT_TYPE).set("schema", ref(Problem.class));
        if (route.authenticated()) {
            ArrayNode security = op.putArray("security");
            security.addObject().putArray("apiKey");
            if (route.reachableByUserTokens()) {
                security.addObject().putArray("userToken");
            }
        } else {
            op.putArray("security");
        }
        return op;
    }

    /**
     * Routes without an id in their path that answer 404 for one a query parameter names. A list filtered by an
     * id (conversations of a user, say) answers an empty page instead: nothing matches.
     */
    private static final Map<String, String> NOT_FOUND_BY_QUERY = Map.of(
            "findUser", "no user with that external_id in the app",
            "searchMessages", "no such user_id or conversation_id in the app",
            "searchMemories", "no such user_id in the app");

    /** Routes that read memories by similarity, and change nothing, though they are POSTs (for the embedding they send). */
    private static final java.util.Set<String> RECALLS = java.util.Set.of("recallMemories", "buildContext");

    /** The errors a route can answer for sure, each as a problem document; anything else falls under "default". */
    private static Map<Integer, String> errorStatuses(Route route) {
        Map<Integer, String> statuses = new java.util.TreeMap<>();
        statuses.put(400, "a parameter or the body is not what the route takes: the problem names it");
        if (route.authenticated()) {
            statuses.put(401, "no API key, one that is not valid, or more than one Authorization header");
            statuses.put(403, forbidden(route));
            statuses.put(429, "the key's rate limit is spent (PARLEY_RATE_LIMIT): Retry-After says when to retry");
            statuses.put(503, "the database is unreachable, or what the request waits for is busy (connections, append writers, "
                    + "recall's scoring threads): Retry-After says when to retry");
        }
        if (PATH_PARAM.matcher(route.path()).find()) {
            statuses.put(404, "no such id in the app");
        } else if (NOT_FOUND_BY_QUERY.containsKey(route.operationId())) {
            statuses.put(404, NOT_FOUND_BY_QUERY.get(route.operationId()));
        }
        if (route.body() != null || route.linesBody()) {
            statuses.put(413, "the body is larger than PARLEY_MAX_BODY");
            statuses.put(415, (route.linesBody() ? "the body is not sent as application/x-ndjson" : "the body is not sent as JSON")
                    + " in UTF-8, or is sent with a Content-Encoding");
        }
        if (RECALLS.contains(route.operationId())) {
            statuses.put(409, "the user's memories of the character hold more embeddings than PARLEY_MEMORY_SCOPE_LIMIT "
                    + "(memory-scope-full, stored before the limit was lowered): none were read");
        } else if (route.method() != HandlerType.GET && route.authenticated()) {
            statuses.put(409, "the change conflicts with what is stored (a row it names is gone, a month is archived, "
                    + "an id is taken, a memory scope is full): the problem's type says which");
        }
        if (Preconditions.takesIfMatch(route)) {
            statuses.put(412, "If-Match names a version that is no longer current");
        }
        return statuses;
    }

    /** When a user token is refused: on a route for the app's key, without the scope, or acting as someone else. */
    private static String forbidden(Route route) {
        if (!route.reachableByUserTokens()) {
            return "a user token: this route takes the app's key";
        }
        String scope = "a user token without the " + route.scope() + " scope this takes";
        String refused = AsItsUser.REFUSED.get(route.operationId());
        return refused == null ? scope : scope + ", or one " + refused;
    }

    private static final String REQUEST_ID = "the request's id: the client's own when it is safe to repeat, else one made by Parley";

    /** What every answer to a request with a key carries when PARLEY_RATE_LIMIT is set (a 401 has no key to count). */
    private static final List<Map.Entry<String, String>> RATE_LIMIT_HEADERS = List.of(
            Map.entry("RateLimit-Limit", "with PARLEY_RATE_LIMIT set: the requests the key's bucket holds when full"),
            Map.entry("RateLimit-Remaining", "with PARLEY_RATE_LIMIT set: the requests left in the key's bucket"),
            Map.entry("RateLimit-Reset", "with PARLEY_RATE_LIMIT set: seconds until the key's bucket is full again"));

    private static void rateLimitHeaders(Route route, ObjectNode response) {
        if (route.authenticated()) {
            ObjectNode headers = (ObjectNode) response.get("headers");
            RATE_LIMIT_HEADERS.forEach(header -> headers.putObject(header.getKey())
                    .put("$ref", "#/components/headers/" + header.getKey()));
        }
    }

    /** What an error answered before the request reached a route (one that is not well-formed HTTP) carries: Jetty's. */
    private static void unroutedHeaders(ObjectNode response) {
        header(((ObjectNode) response.get("headers")).putObject("Cache-Control"),
                "must-revalidate,no-cache,no-store: on an error answered before the request reached a route");
    }

    private static void requiredHeader(ObjectNode response, String name, String description) {
        header(((ObjectNode) response.get("headers")).putObject(name).put("required", true), description);
    }

    private static void header(ObjectNode header, String description) {
        header.put("description", description).putObject("schema").put("type", "string");
    }

    private static void requestIdHeader(ObjectNode response) {
        response.putObject("headers").putObject(RequestIds.HEADER).put("description", REQUEST_ID)
                .putObject("schema").put("type", "string");
    }

    private ObjectNode ref(Class<?> type) {
        String name = names.computeIfAbsent(type, this::nameOf);
        if (!schemas.has(name)) {
            schemas.putObject(name); // placeholder first: records may refer to themselves
            schemas.set(name, schemaOfRecord(type));
        }
        return Json.MAPPER.createObjectNode().put("$ref", "#/components/schemas/" + name);
    }

    private String nameOf(Class<?> type) {
        String simple = type.getSimpleName();
        boolean taken = names.containsValue(simple) || schemas.has(simple);
        return taken && type.getEnclosingClass() != null ? type.getEnclosingClass().getSimpleName() + simple : simple;
    }

    private ObjectNode schemaOfRecord(Class<?> type) {
        if (!type.isRecord()) {
            throw new IllegalArgumentException(type + " is not a record; the API document describes records only");
        }
        ObjectNode schema = Json.MAPPER.createObjectNode().put("type", "object");
        ObjectNode properties = schema.putObject("properties");
        ArrayNode required = Json.MAPPER.createArrayNode();
        boolean request = type.getEnclosingClass() == Bodies.class;
        if (Bodies.PatchBody.class.isAssignableFrom(type)) {
            schema.put("minProperties", 1); // a PATCH of no field changes nothing: Requests.patch refuses it
        }
        for (RecordComponent component : type.getRecordComponents()) {
            if (component.getAccessor().isAnnotationPresent(JsonIgnore.class) || component.isAnnotationPresent(JsonIgnore.class)) {
                continue;
            }
            if (component.getAccessor().isAnnotationPresent(JsonUnwrapped.class)) { // its fields appear as this record's own
                ObjectNode inner = schemaOfRecord(component.getType());
                properties.setAll((ObjectNode) inner.get("properties"));
                if (inner.has("required")) {
                    required.addAll((ArrayNode) inner.get("required"));
                }
                continue;
            }
            // Jackson's annotations reach a record's accessor, not its component: read them there.
            JsonFormat format = component.getAccessor().getAnnotation(JsonFormat.class);
            boolean idAsString = format != null && format.shape() == JsonFormat.Shape.STRING;
            String name = jsonName(component);
            JsonNode property = schemaOf(component.getGenericType(), idAsString, request);
            Takes takes = component.getAnnotation(Takes.class);
            if (request) {
                if (takes != null) {
                    property = bounded((ObjectNode) property, takes, component.getType());
                    if (takes.required()) {
                        required.add(name);
                    }
                }
            } else if (!component.isAnnotationPresent(Nullable.class)) {
                required.add(name);
            } else {
                property = orNull(property);
                if (!leftOutWhenNull(type, component)) { // sent as null: always there
                    required.add(name);
                }
            }
            properties.set(name, property);
        }
        if (!required.isEmpty()) {
            schema.set("required", required);
        }
        return schema;
    }

    /** Whether Jackson leaves the field out when it is null (JsonInclude NON_NULL on the record or the field). */
    private static boolean leftOutWhenNull(Class<?> type, RecordComponent component) {
        for (JsonInclude include : new JsonInclude[] {type.getAnnotation(JsonInclude.class),
                component.getAccessor().getAnnotation(JsonInclude.class)}) {
            if (include != null && include.value() == JsonInclude.Include.NON_NULL) {
                return true;
            }
        }
        return false;
    }

    /** A request field's schema with the bounds its handler checks (see {@link Takes}). */
    private ObjectNode bounded(ObjectNode schema, Takes takes, Class<?> type) {
        int maxBytes = switch (takes.setting()) {
            case CONTENT -> limits.maxContentBytes();
            case METADATA -> limits.maxMetadataBytes();
            case NONE -> takes.maxBytes();
        };
        if (JsonNode.class.isAssignableFrom(type)) { // a JSON value: its serialised size, or a string or number it holds
            if (takes.setting() == Takes.Setting.METADATA) {
                if (takes.object()) { // so a generated client sends no array or string; an optional one may be null
                    ArrayNode types = schema.putArray("type").add("object");
                    if (!takes.required() && !takes.notNull()) {
                        types.add("null");
                    }
                    schema.put("additionalProperties", true); // any keys: without it a generator types an empty object
                }
                return schema.put("description", (takes.object() ? "a JSON object" : "any JSON value") + ", at most " + maxBytes
                        + " bytes as stored: the JSON text PostgreSQL gives back, with a space after each colon and comma "
                        + "and numbers written out in full");
            }
            schema.remove("description");
            schema.putArray("type").add(maxBytes > 0 ? "string" : "integer").add("null");
        }
        // Of a list of strings, the bound is each item's.
        ObjectNode bytesBound = Collection.class.isAssignableFrom(type) ? (ObjectNode) schema.get("items") : schema;
        if (maxBytes > 0 && !JsonNode.class.isAssignableFrom(type)) {
            bytesBound.put("description", "at most " + maxBytes + " bytes of UTF-8");
        }
        if (maxBytes > 0 && takes.setting() != Takes.Setting.METADATA) {
            bytesBound.put("maxLength", maxBytes);
        }
        String count = Map.class.isAssignableFrom(type) ? "Properties" : "Items";
        if (takes.minItems() > 0) {
            schema.put("min" + count, takes.minItems());
        }
        if (takes.maxItems() > 0) {
            schema.put("max" + count, takes.maxItems());
        }
        if (!Double.isNaN(takes.minimum())) {
            schema.put("minimum", plain(takes.minimum()));
        }
        if (!Double.isNaN(takes.maximum())) {
            schema.put("maximum", plain(takes.maximum()));
        }
        if (takes.oneOf().length > 0) {
            ArrayNode values = (schema.has("items") ? (ObjectNode) schema.get("items") : schema).putArray("enum");
            for (String value : takes.oneOf()) {
                values.add(value);
            }
        }
        return schema;
    }

    /** A bound as the document writes it: 10, not 10.0. */
    private static JsonNode plain(double value) {
        return value == Math.rint(value) ? Json.MAPPER.getNodeFactory().numberNode((long) value)
                : Json.MAPPER.getNodeFactory().numberNode(value);
    }

    private JsonNode schemaOf(Type type, boolean idAsString, boolean request) {
        if (type instanceof ParameterizedType p) {
            Class<?> raw = (Class<?>) p.getRawType();
            Type[] args = p.getActualTypeArguments();
            if (Collection.class.isAssignableFrom(raw)) {
                ObjectNode array = Json.MAPPER.createObjectNode().put("type", "array");
                array.set("items", args[0] == String.class ? stringSchema() : schemaOf(args[0], idAsString, request));
                return array;
            }
            if (Map.class.isAssignableFrom(raw)) {
                ObjectNode map = Json.MAPPER.createObjectNode().put("type", "object");
                map.set("additionalProperties", schemaOf(args[1], false, false));
                return map;
            }
        }
        Class<?> c = (Class<?>) type;
        if (c == String.class) {
            return stringSchema();
        }
        if (c == int.class || c == Integer.class) {
            return Json.MAPPER.createObjectNode().put("type", "integer").put("format", "int32");
        }
        if (c == double.class || c == Double.class || c == float.class || c == Float.class) {
            return Json.MAPPER.createObjectNode().put("type", "number");
        }
        if (c == Bodies.SentEmbedding.class) {
            ObjectNode either = Json.MAPPER.createObjectNode();
            either.putArray("oneOf").add(schemaOf(float[].class, false, request))
                    .add(stringSchema().put("contentEncoding", "base64")
                            .put("description", "the float32 values' little-endian bytes in base64"));
            return either.put("description", "an embedding: an array of numbers, or base64 of its float32 values");
        }
        if (c == float[].class) { // embeddings, read and written as arrays of numbers
            ObjectNode array = Json.MAPPER.createObjectNode().put("type", "array");
            array.set("items", Json.MAPPER.createObjectNode().put("type", "number"));
            return array;
        }
        if (c == long.class || c == Long.class) {
            if (idAsString) {
                return idSchema();
            }
            if (request) {
                ObjectNode either = Json.MAPPER.createObjectNode();
                either.putArray("type").add("string").add("integer");
                return either.put("description", "an id: a string of digits (or a number)");
            }
            return Json.MAPPER.createObjectNode().put("type", "integer").put("format", "int64");
        }
        if (c == boolean.class || c == Boolean.class) {
            return Json.MAPPER.createObjectNode().put("type", "boolean");
        }
        if (c == Instant.class) {
            return Json.MAPPER.createObjectNode().put("type", "string").put("format", "date-time");
        }
        if (JsonNode.class.isAssignableFrom(c) || c == JsonText.class) {
            return Json.MAPPER.createObjectNode().put("description", "any JSON value");
        }
        return ref(c);
    }

    /** {@code schema}, or null. */
    private static JsonNode orNull(JsonNode schema) {
        ObjectNode either = Json.MAPPER.createObjectNode();
        either.putArray("anyOf").add(schema).addObject().put("type", "null");
        return either;
    }

    private static ObjectNode stringSchema() {
        return Json.MAPPER.createObjectNode().put("type", "string");
    }

    private static ObjectNode idSchema() {
        return Json.MAPPER.createObjectNode().put("type", "string").put("pattern", "^[0-9]{1,19}$");
    }
}
