package dev.parley.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.PropertyName;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.ArrayType;
import com.fasterxml.jackson.databind.type.CollectionType;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.databind.type.MapType;
import com.fasterxml.jackson.databind.util.AccessPattern;
import dev.parley.chat.InvalidInput;
import dev.parley.input.Check;
import dev.parley.input.Utf8;
import dev.parley.json.Json;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.javalin.http.servlet.MaxRequestSize;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Reads a request body into its record, turning every way it can be wrong into a 4xx that names the field. */
final class Requests {
    static final ObjectReader STRICT;
    /** How {@link StrictInteger} starts the message of an integer beyond its type's range, which it follows with the range. */
    private static final String OUT_OF_RANGE = "out of range: ";
    /** What was sent, by the words Jackson's message gives it, for {@link #given}. */
    private static final Map<String, String> SENT = Map.of("String value", "a string", "`null`", "null",
            "Array value", "an array", "Object value", "an object", "Boolean value", "true or false");
    /**
     * A request field that holds an id ({@code character_id}, {@code character_ids[2]}): every such field of the API is
     * named so. A key of a map a client names ({@code increments.fan_id}) is none, whatever its name: see {@link #isId}.
     */
    private static final Pattern ID_FIELD = Pattern.compile("_ids?(\\[\\d+])?$");
    /** Jackson's message for a number whose exponent or digits are beyond what it reads ({@code 1e99999999999999999999}). */
    private static final Pattern UNREADABLE_NUMBER =
            Pattern.compile("^Value \"([^\"]*)\" can not be (?:deserialized|represented) as `java\\.math\\.Big\\w+`");

    static {
        var mapper = Json.MAPPER.copy();
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES,
                DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS);
        // "content": 12 is a mistake, not the string "12"; ids may come as "123" or 123.
        mapper.coercionConfigFor(LogicalType.Textual)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        mapper.coercionConfigFor(LogicalType.Boolean).setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail); // "adaptive": 0 is not false
        mapper.coercionConfigFor(LogicalType.Integer).setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
        mapper.coercionConfigFor(LogicalType.Float).setCoercion(CoercionInputShape.String, CoercionAction.Fail); // "importance": "0.5"
        mapper.coercionConfigFor(LogicalType.Collection).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        var strict = new SimpleModule("strict-bodies");
        strict.addDeserializer(Long.class, new StrictInteger<>(Long.class, Long.MIN_VALUE, Long.MAX_VALUE, Long::valueOf, true));
        // Bodies' Integer fields are counts (limit, ttl_seconds), never ids: JSON numbers only, as the document types them.
        strict.addDeserializer(Integer.class,
                new StrictInteger<>(Integer.class, Integer.MIN_VALUE, Integer.MAX_VALUE, Long::intValue, false));
        // A null where the document allows none is refused, naming the field: a record reads it as the field left out,
        // and a client that sent "importance": null got the default without a word. Only a JSON value (metadata, an
        // external id a PATCH clears) may be null, as the document says (OpenApi#bounded).
        strict.setDeserializerModifier(new NullsRefused());
        strict.addDeserializer(Boolean.class, new StrictBoolean());
        mapper.registerModule(strict);
        // {"name":"a","name":"b"} is ambiguous: refuse it rather than keep one of the two.
        STRICT = mapper.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    }

    /**
     * The error a refused null is, from any deserializer of a body's values; {@link #describe} names its field from the
     * path Jackson adds to it.
     */
    static InvalidNullException nullRefused(DeserializationContext context) {
        return InvalidNullException.from(context, (PropertyName) null, null);
    }

    /** Gives every deserializer of a body's values but a JSON value's (JsonNode) and a primitive's a {@link NullRefused}. */
    private static final class NullsRefused extends BeanDeserializerModifier {
        @Override
        public JsonDeserializer<?> modifyDeserializer(DeserializationConfig config, BeanDescription description,
                                                      JsonDeserializer<?> deserializer) {
            return refusingNull(description.getType(), deserializer);
        }

        @Override
        public JsonDeserializer<?> modifyCollectionDeserializer(DeserializationConfig config, CollectionType type,
                                                                BeanDescription description, JsonDeserializer<?> deserializer) {
            return refusingNull(type, deserializer);
        }

        @Override
        public JsonDeserializer<?> modifyMapDeserializer(DeserializationConfig config, MapType type, BeanDescription description,
                                                         JsonDeserializer<?> deserializer) {
            return refusingNull(type, deserializer);
        }

        @Override
        public JsonDeserializer<?> modifyArrayDeserializer(DeserializationConfig config, ArrayType type,
                                                           BeanDescription description, JsonDeserializer<?> deserializer) {
            return refusingNull(type, deserializer);
        }

        @Override
        public JsonDeserializer<?> modifyEnumDeserializer(DeserializationConfig config, JavaType type, BeanDescription description,
                                                          JsonDeserializer<?> deserializer) {
            return refusingNull(type, deserializer);
        }

        private static JsonDeserializer<?> refusingNull(JavaType type, JsonDeserializer<?> deserializer) {
            return type.isPrimitive() || type.isTypeOrSubTypeOf(JsonNode.class) ? deserializer : new NullRefused(deserializer);
        }
    }

    /**
     * A value that may be left out but not given as null: a JSON null is refused (InvalidNullException, named by its
     * field), while a field left out still reads as null, as a record's optional field does.
     */
    private static final class NullRefused extends DelegatingDeserializer {
        NullRefused(JsonDeserializer<?> delegate) {
            super(delegate);
        }

        @Override
        protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> delegate) {
            return new NullRefused(delegate);
        }

        @Override
        public Object getNullValue(DeserializationContext context) throws JsonMappingException {
            throw nullRefused(context);
        }

        @Override
        public Object getAbsentValue(DeserializationContext context) {
            return null;
        }

        @Override
        public AccessPattern getNullAccessPattern() {
            return AccessPattern.DYNAMIC;
        }
    }

    /**
     * A module's own deserializer of a scalar, which the modifier that makes NullRefused does not reach: it refuses a
     * null itself, and reads a field left out as null.
     */
    private abstract static class NullRefusingScalar<T> extends StdScalarDeserializer<T> {
        NullRefusingScalar(Class<T> type) {
            super(type);
        }

        @Override
        public T getNullValue(DeserializationContext context) throws JsonMappingException {
            throw nullRefused(context);
        }

        @Override
        public T getAbsentValue(DeserializationContext context) {
            return null;
        }

        @Override
        public AccessPattern getNullAccessPattern() {
            return AccessPattern.DYNAMIC;
        }
    }

    /**
     * true or false, nothing else (not "true", not 0). Jackson's own Boolean deserializer is one the modifier that makes
     * NullRefused does not reach ("typing": null was read as left out).
     */
    private static final class StrictBoolean extends NullRefusingScalar<Boolean> {
        StrictBoolean() {
            super(Boolean.class);
        }

        @Override
        public Boolean deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            return switch (p.currentToken()) {
                case VALUE_TRUE -> Boolean.TRUE;
                case VALUE_FALSE -> Boolean.FALSE;
                default -> throw MismatchedInputException.from(p, Boolean.class, "not true or false");
            };
        }
    }

    /**
     * An integer field of a body (bodies hold boxed integers only: absent is null), in range, given as a JSON number or,
     * for an id (ids are 64-bit, and JavaScript's numbers are not), as a string of ASCII digits with an optional minus
     * sign: not " 5", "+5", "٥" or "５", which Jackson's own reading trims or reads as digits, and which a path or a
     * query parameter refuses. Jackson's coercion settings do not reach a deserializer of one's own, so this one
     * refuses for itself the strings that a field other than an id must not take.
     */
    private static final class StrictInteger<T> extends NullRefusingScalar<T> implements ContextualDeserializer {
        private static final Pattern DIGITS = Pattern.compile("-?[0-9]+");
        private final Class<T> type;
        private final long min;
        private final long max;
        private final Function<Long, T> boxed;
        /** Whether a string of digits is taken too: for ids, not for amounts and counts. */
        private final boolean ids;

        StrictInteger(Class<T> type, long min, long max, Function<Long, T> boxed, boolean ids) {
            super(type);
            this.type = type;
            this.min = min;
            this.max = max;
            this.boxed = boxed;
            this.ids = ids;
        }

        /**
         * A map's values are amounts ({@code {"increments": {"affection": 5}}}), not ids: like a count they take no
         * string, and the API document types them as integers.
         */
        @Override
        public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) {
            boolean amounts = property != null && property.getType().isMapLikeType();
            return ids && amounts ? new StrictInteger<>(type, min, max, boxed, false) : this;
        }

        @Override
        public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            boolean integer = switch (p.currentToken()) {
                case VALUE_NUMBER_INT -> true;
                case VALUE_STRING -> ids && DIGITS.matcher(p.getText()).matches();
                default -> false;
            };
            if (!integer) {
                // The target names what was expected: Number when only a JSON number would do (see expected).
                throw MismatchedInputException.from(p, ids ? type : Number.class, "not an integer");
            }
            Long value = p.currentToken() == JsonToken.VALUE_NUMBER_INT
                    ? p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? null : p.getLongValue()
                    : parsed(p.getText());
            if (value == null || value < min || value > max) { // an integer, as asked, but one too large to be taken
                throw MismatchedInputException.from(p, type, OUT_OF_RANGE + "from " + min + " to " + max);
            }
            return boxed.apply(value);
        }

        private static Long parsed(String digits) {
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                return null; // beyond a long
            }
        }
    }

    private Requests() {
    }

    /**
     * {@code handler}, refusing first a body sent to a route that reads none (a GET, a POST that warms a cache, a DELETE):
     * dropped unread, it would look heeded.
     */
    static Handler bodiless(Route route, Handler handler) {
        if (route.body() != null || route.linesBody()) {
            return handler;
        }
        return ctx -> {
            long length = ctx.contentLength();
            if (length < 0 && ctx.header("Transfer-Encoding") != null) {
                length = bytes(ctx).length; // chunked: read to learn whether it holds anything
            }
            if (length > 0) {
                throw new BadRequest(400, "invalid-request", null, route.method() + " " + route.path()
                        + " takes no body; this one held " + length + " bytes");
            }
            handler.handle(ctx);
        };
    }

    /**
     * A body sent compressed (Content-Encoding: gzip, br ...): Parley reads bodies as they are sent, so a gzipped one
     * would be judged as the JSON it is not, and a plain one labelled br taken as if unlabelled.
     */
    static void refuseEncoded(Context ctx) {
        String encoding = ctx.header("Content-Encoding");
        if (encoding != null && !encoding.isBlank() && !encoding.strip().equalsIgnoreCase("identity")) {
            throw new BadRequest(415, "unsupported-media-type", "Content-Encoding", "Content-Encoding "
                    + Check.printable(encoding) + " is not taken: send the body uncompressed");
        }
        // Jetty decodes chunked and passes any coding before it by ("gzip, chunked"): the body would be read still coded.
        if (ctx.header("Transfer-Encoding") != null) {
            String codings = String.join(", ", Collections.list(ctx.req().getHeaders("Transfer-Encoding")));
            if (!Arrays.stream(codings.split(",")).map(String::strip).allMatch("chunked"::equalsIgnoreCase)) {
                throw new BadRequest(415, "unsupported-media-type", "Transfer-Encoding", "Transfer-Encoding "
                        + Check.printable(codings) + " is not taken: send the body uncompressed, chunked or with a Content-Length");
            }
        }
    }

    static <T> T body(Context ctx, Class<T> type) {
        return read(checkedBytes(ctx), type);
    }

    /**
     * A PATCH's body. A null where the client may have meant "remove it" is refused, naming the field, where it cannot
     * remove anything: for every field but a JSON value's, and for a JSON value marked {@link Takes#notNull}. So is a
     * body that gives none of the record's fields: it would change nothing.
     */
    static <T extends Bodies.PatchBody> T patch(Context ctx, Class<T> type) {
        byte[] bytes = checkedBytes(ctx);
        JsonNode given;
        try {
            given = STRICT.readTree(bytes);
        } catch (IOException e) {
            throw describe(e);
        }
        List<String> fields = new ArrayList<>();
        for (RecordComponent component : type.getRecordComponents()) {
            String field = OpenApi.jsonName(component);
            Takes takes = component.getAnnotation(Takes.class);
            boolean removable = JsonNode.class.isAssignableFrom(component.getType()) && (takes == null || !takes.notNull());
            if (!removable && given.path(field).isNull()) {
                throw cannotBeNull(field);
            }
            fields.add(field);
        }
        T value = read(bytes, type);
        if (fields.stream().noneMatch(given::has)) {
            throw new BadRequest(400, "invalid-request", null,
                    "the body changes nothing: give at least one of " + String.join(", ", fields));
        }
        return value;
    }

    private static byte[] checkedBytes(Context ctx) {
        refuseEncoded(ctx);
        Preconditions.once(ctx, "Content-Type");
        String contentType = ctx.contentType();
        if (contentType != null && !isJson(contentType)) {
            throw new BadRequest(415, "unsupported-media-type", null,
                    "the request body must be JSON (Content-Type: application/json), not " + contentType);
        }
        String charset = contentType == null ? null : charsetOf(contentType);
        if (charset != null && !charset.equals("utf-8") && !charset.equals("utf8")) {
            throw new BadRequest(415, "unsupported-media-type", null,
                    "the request body must be JSON in UTF-8 (RFC 8259, section 8.1), not charset=" + charset);
        }
        byte[] bytes = bytes(ctx);
        if (bytes.length == 0) {
            throw new BadRequest(400, "missing-body", null, "this request needs a JSON body");
        }
        if (bytes.length >= 3 && bytes[0] == (byte) 0xEF && bytes[1] == (byte) 0xBB && bytes[2] == (byte) 0xBF) {
            throw new BadRequest(400, "malformed-json", null,
                    "the body starts with a UTF-8 byte order mark (EF BB BF); JSON text must not (RFC 8259, section 8.1)");
        }
        requireUtf8(bytes);
        return bytes;
    }

    private static <T> T read(byte[] bytes, Class<T> type) {
        T value;
        try {
            value = STRICT.readValue(bytes, type);
        } catch (IOException e) {
            throw describe(e);
        }
        if (value == null) {
            throw nullBody();
        }
        return value;
    }

    /**
     * JSON text is UTF-8 (RFC 8259, section 8.1). Jackson would read UTF-16 and UTF-32 too (it guesses from the zero
     * bytes), and decode an overlong form such as C0 AF as the "/" it spells; both are refused here. No JSON text holds
     * a zero byte: outside strings only whitespace may stand, inside them a control character is escaped.
     */
    private static void requireUtf8(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                throw new BadRequest(400, "malformed-json", null, "the body holds a zero byte at offset " + i
                        + "; JSON text is UTF-8 (RFC 8259, section 8.1), not UTF-16 or UTF-32");
            }
        }
        int invalid = Utf8.firstInvalid(bytes);
        if (invalid >= 0) {
            throw new BadRequest(400, "malformed-json", null, "the body is not UTF-8: the byte at offset " + invalid
                    + " (0x%02X) starts no well-formed UTF-8 character (RFC 8259, section 8.1)".formatted(bytes[invalid] & 0xFF));
        }
    }

    /**
     * The whole body. A body that ends before its Content-Length, or chunked encoding that is not
     * chunked, is the client's mistake: 400, not an exception from deep inside Jetty.
     */
    private static byte[] bytes(Context ctx) {
        long limit = ctx.appData(MaxRequestSize.INSTANCE.getMaxRequestSizeKey());
        if (ctx.req().getContentLengthLong() > limit) {
            // Refused before a byte is read, so a client that asked Expect: 100-continue sends none.
            throw new HttpResponseException(413, "the request body is larger than the limit");
        }
        UnreadBodies.reading(ctx);
        long declared = ctx.req().getContentLengthLong();
        try {
            return declared >= 0 ? exactly(ctx.req().getInputStream(), (int) declared) : ctx.bodyAsBytes();
        } catch (HttpResponseException e) {
            throw e; // 413 from the body limit
        } catch (Exception e) {
            throw unreadable(e, declared);
        }
    }

    /**
     * Why a body could not be read to its end, in HTTP's terms: the Java exception Jetty threw ("HttpEofException: Early
     * EOF", "IOException: java.util.concurrent.TimeoutException: Idle timeout expired: 30003/30000 ms") tells a client
     * nothing it can act on. A body that stopped coming is a 408: the request was not wrong, it did not arrive.
     * {@code declared} is the Content-Length, or -1 for a chunked body.
     */
    static BadRequest unreadable(Throwable failure, long declared) {
        return unreadable(failure, declared, "nothing was changed");
    }

    /** As {@link #unreadable(Throwable, long)}, for a request that acts on its body as it reads it: {@code outcome} says what stays. */
    static BadRequest unreadable(Throwable failure, long declared, String outcome) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof TimeoutException) {
                return new BadRequest(408, "request-timeout", null, (declared >= 0
                        ? "the request body stopped coming before the " + declared + " bytes its Content-Length announces"
                        : "the chunked request body stopped coming before its last chunk (a chunk of size 0)")
                        + ", and nothing more came within the connection's idle timeout; " + outcome);
            }
        }
        return new BadRequest(400, "unreadable-body", null, (declared >= 0
                ? "the request body ended before the " + declared + " bytes its Content-Length announces"
                : "the request body is not chunked as Transfer-Encoding: chunked announces (each chunk is its size in hex, "
                + "CRLF, that many bytes, CRLF; a chunk of size 0 ends the body), or it ended before its last chunk")
                + "; " + outcome);
    }

    /**
     * A body of known length, read into one array of that length. Javalin's reader grows a buffer and copies
     * it: 38 % of the bytes a recall request allocated (JFR), which set how often the young collector paused.
     */
    private static byte[] exactly(InputStream in, int length) throws IOException {
        byte[] body = in.readNBytes(length);
        if (body.length < length) {
            throw new EOFException("the body ended after " + body.length + " of its " + length + " bytes");
        }
        in.read(); // the end, which Jetty reports once it has been read: UnreadBodies then finds nothing left to read
        return body;
    }

    /** The charset parameter of a media type, lower-cased and unquoted, or null when it has none. */
    static String charsetOf(String contentType) {
        for (String parameter : contentType.split(";")) {
            String[] pair = parameter.strip().split("=", 2);
            if (pair.length == 2 && pair[0].strip().equalsIgnoreCase("charset")) {
                return pair[1].strip().replace("\"", "").toLowerCase(java.util.Locale.ROOT);
            }
        }
        return null;
    }

    private static boolean isJson(String contentType) {
        String mediaType = contentType.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
        return mediaType.equals("application/json") || mediaType.endsWith("+json");
    }

    private static BadRequest cannotBeNull(String field) {
        return new BadRequest(400, "invalid-request", field,
                field + " cannot be null: a stored one cannot be removed this way; leave the field out to keep it");
    }

    private static BadRequest nullBody() {
        return new BadRequest(400, "malformed-json", null, "the request body must be a JSON object, not null");
    }

    private static BadRequest nullGiven(String field) {
        return new BadRequest(400, "invalid-request", field, field + " cannot be null: give it a value, or leave it out where it is optional");
    }

    private static BadRequest describe(IOException e) {
        return switch (e) {
            case UnrecognizedPropertyException u -> new BadRequest(400, "invalid-request", path(u),
                    path(u) + " is not a field of this request; known fields: " + u.getKnownPropertyIds());
            case InvalidNullException n when n.getPath().isEmpty() -> nullBody();
            case InvalidNullException n -> nullGiven(path(n));
            case MismatchedInputException m when !m.getPath().isEmpty() && m.getOriginalMessage().startsWith(OUT_OF_RANGE) ->
                    new BadRequest(400, "invalid-request", path(m), path(m) + " is " + (isId(m)
                            ? OUT_OF_RANGE + "an id is a positive integer up to " + Long.MAX_VALUE // not the type's negatives
                            : m.getOriginalMessage()));
            case MismatchedInputException m when !m.getPath().isEmpty() -> new BadRequest(400, "invalid-request", path(m),
                    path(m) + " " + expected(m));
            case MismatchedInputException m when m.getOriginalMessage().startsWith("Trailing token") -> new BadRequest(400,
                    "malformed-json", null, "the body holds more after its JSON object" + atOffset(m)
                    + ": send one JSON object, with nothing but whitespace after it");
            case MismatchedInputException m when m.getTargetType() != null && m.getTargetType().isRecord() -> new BadRequest(400,
                    "malformed-json", null, "the request body must be a JSON object"); // not the record Parley reads it into
            case StreamConstraintsException s -> new BadRequest(400, "malformed-json", null, beyondLimits(s));
            case JsonParseException p when isDuplicate(p) -> duplicate(p);
            case JsonMappingException m when m.getCause() instanceof JsonParseException p && isDuplicate(p) -> duplicate(p);
            case JsonParseException p when Check.isKeyWithUnpairedSurrogate(p) -> surrogateInKey(p);
            case JsonMappingException m when m.getCause() instanceof JsonParseException p && Check.isKeyWithUnpairedSurrogate(p) ->
                    surrogateInKey(p);
            case JsonProcessingException p when UNREADABLE_NUMBER.matcher(p.getOriginalMessage()).find() -> unreadableNumber(p);
            case JsonParseException p -> new BadRequest(400, "malformed-json", null,
                    "the body is not valid JSON (UTF-8): " + Check.withoutJavaNames(p.getOriginalMessage()));
            case JsonProcessingException p -> new BadRequest(400, "malformed-json", null,
                    "the body is not valid JSON (UTF-8): " + Check.withoutJavaNames(p.getOriginalMessage()));
            default -> new BadRequest(400, "malformed-json", null, "the body could not be read: " + e.getMessage());
        };
    }

    /** Where in the body the reader stopped, as a byte offset, when it knows. */
    private static String atOffset(JsonProcessingException e) {
        long offset = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
        return offset < 0 ? "" : " (at byte " + offset + ")";
    }

    /**
     * A number valid as JSON but beyond what can be read ({@code 1e99999999999999999999}): its value is out of range, the
     * body is not malformed. Named by its path when the reader knows it.
     */
    private static BadRequest unreadableNumber(JsonProcessingException e) {
        var matcher = UNREADABLE_NUMBER.matcher(e.getOriginalMessage());
        String number = matcher.find() ? Check.printable(matcher.group(1)) : "a number";
        String where = e instanceof JsonMappingException m && !m.getPath().isEmpty() ? path(m) : Check.where(e);
        return new BadRequest(400, "invalid-request", where.isEmpty() ? null : where, (where.isEmpty() ? "" : where + ": ")
                + number + " is out of the range of numbers Parley reads (its exponent or its digits are too many)");
    }

    static boolean isDuplicate(JsonParseException e) {
        return e.getOriginalMessage().startsWith("Duplicate field");
    }

    /** A key given twice in one object, named by its path: {@code metadata.kind}. */
    private static BadRequest duplicate(JsonParseException e) {
        String key = e.getOriginalMessage().replaceFirst("^[^'\"]*['\"](.*)['\"][^'\"]*$", "$1");
        String where = Check.where(e);
        String field = where.isEmpty() ? key : where + "." + key;
        return new BadRequest(400, "invalid-request", field, field + " is given twice; each key may appear once");
    }

    /** A key escaping a lone surrogate, refused as a value's would be (see {@link Check#isKeyWithUnpairedSurrogate}). */
    private static BadRequest surrogateInKey(JsonParseException e) {
        String where = Check.where(e);
        InvalidInput refused = Check.keyWithUnpairedSurrogate(where.isEmpty() ? "the body" : where);
        return new BadRequest(400, "invalid-request", where.isEmpty() ? null : where, refused.getMessage());
    }

    private static String beyondLimits(StreamConstraintsException e) {
        return "the JSON is beyond Parley's limits: " + Check.withoutJavaNames(e.getOriginalMessage());
    }

    /**
     * What the field had to be, in JSON's words: never a Java type's name. An array's element ({@code embedding[0]})
     * is named by the array's type, so its element type says what the element had to be.
     */
    private static String expected(MismatchedInputException m) {
        Class<?> target = m.getTargetType();
        if (target != null && target.isArray() && !m.getPath().isEmpty() && m.getPath().getLast().getIndex() >= 0) {
            target = target.getComponentType();
        }
        if (target == null) {
            return "has the wrong type";
        }
        String name = switch (target.getSimpleName()) {
            case "String" -> "a string";
            case "Long", "long", "Integer", "int" -> "an integer (ids may also be given as strings of digits)";
            case "Number" -> "an integer written as a JSON number without a fraction (5, not 5.0 nor \"5\")";
            case "Double", "double", "Float", "float" -> "a JSON number, such as 0.5" + given(m);
            case "Boolean", "boolean" -> "true or false";
            case "List", "ArrayList" -> "an array";
            case "SentEmbedding" -> "an array of numbers or a base64 string of little-endian float32 values";
            default -> target.isArray() || Collection.class.isAssignableFrom(target) ? "an array"
                    : target.isRecord() || Map.class.isAssignableFrom(target) ? "an object" : null;
        };
        return name == null ? "has the wrong type" : "must be " + name;
    }

    /**
     * ", not a string" (or null, an array…): what was sent where a value of another type was wanted, from Jackson's
     * words ("Cannot coerce String value", "from Array value"), as its parser is closed by the time the error is told.
     */
    private static String given(MismatchedInputException m) {
        String said = String.valueOf(m.getOriginalMessage());
        for (var sent : SENT.entrySet()) {
            if (said.contains(sent.getKey())) {
                return ", not " + sent.getValue();
            }
        }
        return "";
    }

    /** Whether the failure is in a request field that holds an id: named as one, and no key of a map (counters). */
    private static boolean isId(JsonMappingException e) {
        boolean inMap = e.getPath().stream().anyMatch(ref -> ref.getFrom() instanceof Map<?, ?>
                || ref.getFrom() instanceof Class<?> type && Map.class.isAssignableFrom(type));
        return !inMap && ID_FIELD.matcher(path(e)).find();
    }

    /** The JSON path of the failure in snake_case as sent: messages[2].content. */
    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining())
                .replaceFirst("^\\.", "");
    }
}
