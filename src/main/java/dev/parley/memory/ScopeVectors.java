package dev.parley.memory;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every embedded memory of one (user, character), laid out for scoring, ids ascending. Its vectors are immutable once
 * built (only {@code rows} fills, below); {@code version} is the scope version it was read at; {@code rowVersions[i]} the xmin of memory i's row as read
 * (a write makes a new one); {@code conversations[i]} is memory i's conversation, 0 when it has none.
 *
 * <p>Vector i is in chunk {@code i / rowsPerChunk}, from {@code (i % rowsPerChunk) * dims}; a chunk holds the rows it has
 * room for, the last one no more than are left (a scope of three memories takes three vectors, not a chunk). Chunks of about
 * {@link #CHUNK_BYTES} stay small enough for G1 to allocate as ordinary objects (a 10,000 × 768 scope in one array
 * is 31 MB, which G1 places in regions of its own), and the vectors of a scope's next version share the chunks that
 * no write touched ({@link Recall}). Each chunk keeps an 8-bit copy of its vectors too, a quarter of the bytes, which
 * a recall reads first ({@link Chunk}, {@link RecallScorer}).
 *
 * <p>{@code rows} holds memories recalls returned, read at or after this version (a cache's, see {@link Recall}),
 * at most {@link #ROWS_KEPT}.
 */
record ScopeVectors(long version, int dims, int rowsPerChunk, long[] ids, long[] rowVersions, Chunk[] chunks,
                    float[] importance, long[] createdMillis, long[] conversations, Map<Long, Memory> rows) {
    static final int CHUNK_BYTES = 256 * 1024;
    /** How many memories' rows one version keeps: those recalls return, a few dozen in a scope used by one person. */
    static final int ROWS_KEPT = 256;
    private static final int ROW_BYTES = 256; // a Memory's fields beside its texts

    ScopeVectors(long version, int dims, int rowsPerChunk, long[] ids, long[] rowVersions, Chunk[] chunks,
                 float[] importance, long[] createdMillis, long[] conversations) {
        this(version, dims, rowsPerChunk, ids, rowVersions, chunks, importance, createdMillis, conversations,
                new ConcurrentHashMap<>());
    }

    /** How many vectors of {@code dims} a chunk holds. */
    static int rowsPerChunk(int dims) {
        return Math.max(1, CHUNK_BYTES / (Math.max(1, dims) * Float.BYTES));
    }

    /** The vectors of a flat array, vector i at {@code [i * dims, (i + 1) * dims)}, in chunks. */
    static ScopeVectors of(long version, int dims, long[] ids, long[] rowVersions, float[] vectors, float[] importance,
                           long[] createdMillis, long[] conversations) {
        int perChunk = rowsPerChunk(dims);
        var chunks = new Chunk[(ids.length + perChunk - 1) / perChunk];
        for (int c = 0; c < chunks.length; c++) {
            int rows = Math.min(perChunk, ids.length - c * perChunk);
            float[] chunk = new float[rows * dims];
            System.arraycopy(vectors, c * perChunk * dims, chunk, 0, rows * dims);
            chunks[c] = Chunk.of(chunk, dims);
        }
        return new ScopeVectors(version, dims, perChunk, ids, rowVersions, chunks, importance, createdMillis, conversations);
    }

    int size() {
        return ids.length;
    }

    /** Bytes held, for the cache's weigher. */
    int weight() {
        long bytes = 64 + ids.length * (Long.BYTES * 4 + Float.BYTES);
        for (Chunk chunk : chunks) {
            bytes += chunk.bytes();
        }
        for (Memory memory : rows.values()) {
            bytes += ROW_BYTES + 2L * (memory.content().length() + (memory.metadata() == null ? 0 : memory.metadata().text().length()));
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    /** Keeps {@code read} with this version while fewer than {@link #ROWS_KEPT} are kept; whether any was kept. */
    boolean keep(Collection<Memory> read) {
        boolean kept = false;
        for (Memory memory : read) {
            if (rows.size() < ROWS_KEPT) {
                kept |= rows.putIfAbsent(memory.id(), memory) == null;
            }
        }
        return kept;
    }

    /** Dot product of vector {@code i} with {@code query}: the cosine similarity, both being unit length. */
    double similarity(int i, float[] query) {
        return DotProduct.BEST.of(chunks[i / rowsPerChunk].vectors(), (i % rowsPerChunk) * dims, query);
    }

    /** {@link #similarity} from vector {@code i}'s 8-bit copy: within {@code |query| × slack(i)} of it. */
    double approximateSimilarity(int i, float[] query) {
        Chunk chunk = chunks[i / rowsPerChunk];
        int row = i % rowsPerChunk;
        return chunk.scales()[row] * DotProduct.BEST.ofCodes(chunk.codes(), row * dims, query);
    }

    /** How far {@link #approximateSimilarity} of vector {@code i} may be from {@link #similarity}, per unit of the query's length. */
    double slack(int i) {
        return chunks[i / rowsPerChunk].slack()[i % rowsPerChunk];
    }

    /** Copies vector {@code i} into {@code to} from {@code at}. */
    void copyVector(int i, float[] to, int at) {
        System.arraycopy(chunks[i / rowsPerChunk].vectors(), (i % rowsPerChunk) * dims, to, at, dims);
    }

    /**
     * Some vectors of a scope, each also as 8-bit codes: vector r is about {@code scales[r] × codes[r]}, and for any
     * query q the two dot products differ by at most {@code |q| × slack[r]}: the quantisation's error (its residual's
     * length, by Cauchy-Schwarz) plus a margin for the float sums' rounding, rounded up.
     */
    record Chunk(float[] vectors, byte[] codes, float[] scales, float[] slack) {
        /** The rounding allowed for, relative to |vector| × |query|: above what either dot product's float sums can lose. */
        static final double ROUNDING = 1e-3;

        /** {@code vectors} (rows of {@code dims}) with their codes: each vector scaled so that its largest value is ±127. */
        static Chunk of(float[] vectors, int dims) {
            int rows = dims == 0 ? 0 : vectors.length / dims;
            var codes = new byte[vectors.length];
            var scales = new float[rows];
            var slack = new float[rows];
            for (int row = 0; row < rows; row++) {
                int from = row * dims;
                float largest = 0;
                for (int d = 0; d < dims; d++) {
                    largest = Math.max(largest, Math.abs(vectors[from + d]));
                }
                float scale = largest / 127;
                float inverse = scale == 0 ? 0 : 1 / scale;
                for (int d = 0; d < dims; d++) { // rounded half away from zero; at most 127 in size, as |value| <= largest
                    float scaled = vectors[from + d] * inverse;
                    codes[from + d] = (byte) (int) (scaled + Math.copySign(0.5f, scaled));
                }
                // The slack is the residual of the codes as chosen, so any rounding above is safe. Two sums of each, as
                // one would make every addition wait for the one before: this loop took 65 ms for 10,000 vectors of
                // 768 numbers with a division and Math.round in it, 13 ms so (docs/benchmarks.md).
                double residual = 0, residualOdd = 0, length = 0, lengthOdd = 0;
                int d = 0;
                for (; d + 1 < dims; d += 2) {
                    double value = vectors[from + d];
                    double next = vectors[from + d + 1];
                    double error = value - (double) scale * codes[from + d];
                    double nextError = next - (double) scale * codes[from + d + 1];
                    residual += error * error;
                    residualOdd += nextError * nextError;
                    length += value * value;
                    lengthOdd += next * next;
                }
                if (d < dims) {
                    double value = vectors[from + d];
                    double error = value - (double) scale * codes[from + d];
                    residual += error * error;
                    length += value * value;
                }
                scales[row] = scale;
                slack[row] = Math.nextUp((float) (Math.sqrt(residual + residualOdd) + ROUNDING * Math.sqrt(length + lengthOdd)));
            }
            return new Chunk(vectors, codes, scales, slack);
        }

        long bytes() {
            return (long) vectors.length * Float.BYTES + codes.length + (long) scales.length * 2 * Float.BYTES;
        }
    }
}
