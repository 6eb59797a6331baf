package dev.parley.cache;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Reads a view's JSON, as an instance rendered it for Redis, back into the view's type, so that the
 * model renders to the very same bytes again. Each JSON document inside it (traits, state, metadata:
 * {@link JsonText}) is taken byte for byte as it stands, never parsed into a tree and written anew, and
 * the limits of a request body do not apply: these bytes were rendered from stored data, which may
 * nest deeper or hold longer numbers than a request may (StoredDataTest). JSON that does not fit the
 * type is not read; a field the JSON leaves out reads as null or zero (an inbox entry's activity id, which
 * only made the page's cursor). Views of another build, during a rolling upgrade, are never met: a view is
 * kept under its type's {@link #shape}.
 */
final class ViewReader {
    private static final String SOURCE = "parley.view.bytes";
    private static final ObjectReader READER;
    private static final ClassValue<String> SHAPES = new ClassValue<>() {
        @Override
        protected String computeValue(Class<?> type) {
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(describe(type).getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(digest, 0, 4);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JVM has SHA-256", e);
            }
        }
    };

    static {
        ObjectMapper mapper = Json.MAPPER.copy(); // copies the factory too, so the limits below stay here
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(Integer.MAX_VALUE)
                .maxNumberLength(Integer.MAX_VALUE).maxStringLength(Integer.MAX_VALUE).maxNameLength(Integer.MAX_VALUE).build());
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.registerModule(new SimpleModule("verbatim-json-text").addDeserializer(JsonText.class, new Verbatim()));
        READER = mapper.reader();
    }

    private ViewReader() {
    }

    /** The model {@code json} renders, or empty when it does not fit {@code type}. */
    static <T> Optional<T> read(byte[] json, Class<T> type) {
        try {
            return Optional.ofNullable(READER.forType(type).withAttribute(SOURCE, json).readValue(json));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * A short digest of {@code type}'s fields, and theirs, down to plain values: two builds whose views
     * have the same fields share them in Redis, and a build that adds, drops or retypes one does not read
     * the other's.
     */
    static String shape(Class<?> type) {
        return SHAPES.get(type);
    }

    /** "Page(items:List<Item(id:long,name:String)>,next:String)": a record's components, recursively. */
    private static String describe(Type type) {
        if (type instanceof ParameterizedType generic) {
            return describe(generic.getRawType()) + Arrays.stream(generic.getActualTypeArguments())
                    .map(ViewReader::describe).collect(Collectors.joining(",", "<", ">"));
        }
        if (type instanceof Class<?> plain && plain.isRecord()) {
            return plain.getSimpleName() + Arrays.stream(plain.getRecordComponents())
                    .map(component -> component.getName() + ":" + describe(component.getGenericType()))
                    .collect(Collectors.joining(",", "(", ")"));
        }
        return type.getTypeName();
    }

    /** A JSON document inside a view: the bytes from its first token to the end of its last. */
    private static final class Verbatim extends StdDeserializer<JsonText> {
        Verbatim() {
            super(JsonText.class);
        }

        @Override
        public JsonText deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            byte[] source = (byte[]) context.getAttribute(SOURCE);
            int start = (int) parser.currentTokenLocation().getByteOffset();
            if (parser.currentToken().isStructStart()) {
                parser.skipChildren();
            } else {
                parser.finishToken(); // a string is read lazily: its end is known only once it is read
            }
            int end = (int) parser.currentLocation().getByteOffset();
            return new JsonText(new String(source, start, end - start, StandardCharsets.UTF_8));
        }
    }
}
