package dev.parley.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Embeddings for generated memories and for the workload's queries. There are {@link #COUNT}
 * topic directions; a memory lies near one of them (cosine about 0.8) and a query points along one,
 * so a recall finds the scope's memories on that topic well above the background, as real
 * embeddings do. Topic vectors depend only on (topic, dims): the loader and the workload agree.
 */
final class Topics {
    static final int COUNT = 32;
    private static final double NOISE = 0.75;
    private static final Map<Long, float[]> TOPICS = new ConcurrentHashMap<>();
    private static final Map<Long, byte[]> QUERIES = new ConcurrentHashMap<>();
    private static final Map<Long, byte[]> BASE64_QUERIES = new ConcurrentHashMap<>();

    private Topics() {
    }

    static float[] topic(int topic, int dims) {
        return TOPICS.computeIfAbsent((long) dims << 32 | topic, key -> {
            var random = new SplittableRandom(0x70_91C5L * 31 + topic);
            float[] v = new float[dims];
            for (int i = 0; i < dims; i++) {
                v[i] = (float) gaussian(random);
            }
            return unit(v);
        });
    }

    /** A memory's embedding near {@code topic}, as float32 little-endian bytes. */
    static byte[] memory(SplittableRandom random, int topic, int dims) {
        float[] center = topic(topic, dims);
        float[] v = new float[dims];
        double scale = NOISE / Math.sqrt(dims);
        for (int i = 0; i < dims; i++) {
            v[i] = (float) (center[i] + scale * gaussian(random));
        }
        ByteBuffer bytes = ByteBuffer.allocate(dims * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(unit(v));
        return bytes.array();
    }

    /** A query along {@code topic} as a JSON array of numbers (UTF-8), made once per topic. */
    static byte[] queryJson(int topic, int dims) {
        return QUERIES.computeIfAbsent((long) dims << 32 | topic, key -> {
            StringBuilder json = new StringBuilder(dims * 12).append('[');
            float[] v = topic(topic, dims);
            for (int i = 0; i < v.length; i++) {
                json.append(i == 0 ? "" : ",").append(v[i]);
            }
            return json.append(']').toString().getBytes(StandardCharsets.UTF_8);
        });
    }

    /** The same query as a JSON string of base64 holding its float32 values, little-endian; made once per topic. */
    static byte[] queryBase64(int topic, int dims) {
        return BASE64_QUERIES.computeIfAbsent((long) dims << 32 | topic, key -> {
            ByteBuffer bytes = ByteBuffer.allocate(dims * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(topic(topic, dims));
            return ('"' + Base64.getEncoder().encodeToString(bytes.array()) + '"').getBytes(StandardCharsets.US_ASCII);
        });
    }

    private static float[] unit(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += (double) x * x;
        }
        double scale = 1 / Math.sqrt(sum);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * scale);
        }
        return v;
    }

    static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
