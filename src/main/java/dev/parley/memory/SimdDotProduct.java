package dev.parley.memory;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products in the CPU's widest vectors (16 floats with AVX-512, 8 with AVX2), through the Vector API
 * of {@code jdk.incubator.vector}. Only {@link DotProduct#BEST} makes one, and only when the JVM has that
 * module: without it, loading this class would fail.
 */
final class SimdDotProduct implements DotProduct {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /**
     * As many bytes as SPECIES has floats, widened to floats in one instruction; null where the widest float vectors
     * hold 4 (128 bits: there is no 32-bit byte vector), and the codes are then summed in plain Java.
     */
    private static final VectorSpecies<Byte> CODES = SPECIES.vectorBitSize() < 256 ? null
            : VectorSpecies.of(byte.class, VectorShape.forBitSize(SPECIES.vectorBitSize() / (Float.SIZE / Byte.SIZE)));
    private static final DotProduct PLAIN = new DotProduct.Scalar();

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
    public float ofCodes(byte[] codes, int from, float[] query) {
        if (CODES == null) {
            return PLAIN.ofCodes(codes, from, query);
        }
        int dims = query.length;
        int step = SPECIES.length();
        FloatVector even = FloatVector.zero(SPECIES);
        FloatVector odd = FloatVector.zero(SPECIES);
        int d = 0;
        for (; d + 2 * step <= dims; d += 2 * step) {
            even = widened(codes, from + d).fma(FloatVector.fromArray(SPECIES, query, d), even);
            odd = widened(codes, from + d + step).fma(FloatVector.fromArray(SPECIES, query, d + step), odd);
        }
        for (; d + step <= dims; d += step) {
            even = widened(codes, from + d).fma(FloatVector.fromArray(SPECIES, query, d), even);
        }
        float sum = even.add(odd).reduceLanes(VectorOperators.ADD);
        for (; d < dims; d++) {
            sum += codes[from + d] * query[d];
        }
        return sum;
    }

    private static FloatVector widened(byte[] codes, int from) {
        return (FloatVector) ByteVector.fromArray(CODES, codes, from).convertShape(VectorOperators.B2F, SPECIES, 0);
    }

    @Override
    public int lanes() {
        return SPECIES.length();
    }
}
