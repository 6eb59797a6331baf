package dev.parley.memory;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products in the CPU's widest vectors (16 floats with AVX-512, 8 with AVX2), through the Vector API
 * of {@code jdk.incubator.vector}. Only {@link DotProduct#BEST} makes one, and only when the JVM has that
 * module: without it, loading this class would fail.
 */
final class SimdDotProduct implements DotProduct {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    @Override
    public float of(float[] vectors, int from, float[] query) {
        int dims = query.length;
        int step = SPECIES.length();
        // Two sums, as the scalar loop keeps four: a fused multiply-add waits for the one before it on the same sum.
        FloatVector even = FloatVector.zero(SPECIES);
        FloatVector odd = FloatVector.zero(SPECIES);
        int d = 0;
        for (; d + 2 * step <= dims; d += 2 * step) {
            even = FloatVector.fromArray(SPECIES, vectors, from + d).fma(FloatVector.fromArray(SPECIES, query, d), even);
            odd = FloatVector.fromArray(SPECIES, vectors, from + d + step).fma(FloatVector.fromArray(SPECIES, query, d + step), odd);
        }
        for (; d + step <= dims; d += step) {
            even = FloatVector.fromArray(SPECIES, vectors, from + d).fma(FloatVector.fromArray(SPECIES, query, d), even);
        }
        float sum = even.add(odd).reduceLanes(VectorOperators.ADD);
        for (; d < dims; d++) {
            sum += vectors[from + d] * query[d];
        }
        return sum;
    }

    @Override
    public int lanes() {
        return SPECIES.length();
    }
}
