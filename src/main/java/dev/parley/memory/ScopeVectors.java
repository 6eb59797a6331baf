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
 * no write touched ({@link Recall}).
 *
 * <p>{@code rows} holds memories recalls returned, read at or after this version (a cache's, see {@link Recall}),
 * at most {@link #ROWS_KEPT}.
 */
record ScopeVectors(long version, int dims, int rowsPerChunk, long[] ids, long[] rowVersions, float[][] chunks,
                    float[] importance, long[] createdMillis, long[] conversations, Map<Long, Memory> rows) {
    static final int CHUNK_BYTES = 256 * 1024;
    /** How many memories' rows one version keeps: those recalls return, a few dozen in a scope used by one person. */
    static final int ROWS_KEPT = 256;
    private static final int ROW_BYTES = 256; // a Memory's fields beside its texts

    ScopeVectors(long version, int dims, int rowsPerChunk, long[] ids, long[] rowVersions, float[][] chunks,
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
        var chunks = new float[(ids.length + perChunk - 1) / perChunk][];
        for (int c = 0; c < chunks.length; c++) {
            int rows = Math.min(perChunk, ids.length - c * perChunk);
            chunks[c] = new float[rows * dims];
            System.arraycopy(vectors, c * perChunk * dims, chunks[c], 0, rows * dims);
        }
        return new ScopeVectors(version, dims, perChunk, ids, rowVersions, chunks, importance, createdMillis, conversations);
    }

    int size() {
        return ids.length;
    }

    /** Bytes held, for the cache's weigher. */
    int weight() {
        long bytes = 64 + ids.length * (Long.BYTES * 4 + Float.BYTES);
        for (float[] chunk : chunks) {
            bytes += (long) chunk.length * Float.BYTES;
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
        return DotProduct.BEST.of(chunks[i / rowsPerChunk], (i % rowsPerChunk) * dims, query);
    }

    /** Copies vector {@code i} into {@code to} from {@code at}. */
    void copyVector(int i, float[] to, int at) {
        System.arraycopy(chunks[i / rowsPerChunk], (i % rowsPerChunk) * dims, to, at, dims);
    }
}
