package dev.parley.memory;

/**
 * Every embedded memory of one (user, character), laid out for scoring: vector i occupies
 * {@code vectors[i * dims .. (i + 1) * dims)}. Immutable once built; {@code version} is the scope
 * version it was read at; {@code conversations[i]} is memory i's conversation, 0 when it has none.
 */
record ScopeVectors(long version, int dims, long[] ids, float[] vectors, float[] importance, long[] createdMillis,
                    long[] conversations) {
    int size() {
        return ids.length;
    }

    /** Bytes held, for the cache's weigher. */
    int weight() {
        return 64 + ids.length * (Long.BYTES * 3 + Float.BYTES) + vectors.length * Float.BYTES;
    }

    /** Dot product of vector {@code i} with {@code query}: the cosine similarity, both being unit length. */
    double similarity(int i, float[] query) {
        int base = i * dims;
        // Four accumulators break the dependency chain, so the CPU overlaps the multiply-adds.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int d = 0;
        for (; d + 3 < dims; d += 4) {
            s0 += vectors[base + d] * query[d];
            s1 += vectors[base + d + 1] * query[d + 1];
            s2 += vectors[base + d + 2] * query[d + 2];
            s3 += vectors[base + d + 3] * query[d + 3];
        }
        for (; d < dims; d++) {
            s0 += vectors[base + d] * query[d];
        }
        return (double) s0 + s1 + s2 + s3;
    }
}
