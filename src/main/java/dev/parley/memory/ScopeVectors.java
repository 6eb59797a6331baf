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
        return DotProduct.BEST.of(vectors, i * dims, query);
    }
}
