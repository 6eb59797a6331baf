package dev.parley.memory;

/**
 * The arithmetic recall spends its time on: a query's dot product with each vector of a scope (10,000
 * memories of 768 dimensions are 7.7 million multiply-adds over 31 MB a recall). {@link #BEST} is the
 * Vector API's when the JVM was started with {@code --add-modules jdk.incubator.vector}, as the
 * {@code parley} launcher starts {@code serve} and {@code bench}; otherwise plain Java, which gives the
 * same results up to float rounding, at about a quarter of the speed (docs/benchmarks.md).
 */
sealed interface DotProduct permits DotProduct.Scalar, SimdDotProduct {
    /** The implementation this JVM can run fastest, chosen once. */
    DotProduct BEST = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? new SimdDotProduct() : new Scalar();

    /** The sum of {@code vectors[from + d] * query[d]} over the query's dimensions. */
    float of(float[] vectors, int from, float[] query);

    /** The sum of {@code codes[from + d] * query[d]} over the query's dimensions: a vector's 8-bit copy, unscaled. */
    float ofCodes(byte[] codes, int from, float[] query);

    /** How many floats one instruction multiplies: 1 without the Vector API. */
    int lanes();

    /** A loop of plain Java: four sums break the dependency chain, so the CPU overlaps the multiply-adds. */
    final class Scalar implements DotProduct {
        @Override
        public float of(float[] vectors, int from, float[] query) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int dims = query.length;
            int d = 0;
            for (; d + 3 < dims; d += 4) {
                s0 += vectors[from + d] * query[d];
                s1 += vectors[from + d + 1] * query[d + 1];
                s2 += vectors[from + d + 2] * query[d + 2];
                s3 += vectors[from + d + 3] * query[d + 3];
            }
            for (; d < dims; d++) {
                s0 += vectors[from + d] * query[d];
            }
            return s0 + s1 + s2 + s3;
        }

        @Override
        public float ofCodes(byte[] codes, int from, float[] query) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int dims = query.length;
            int d = 0;
            for (; d + 3 < dims; d += 4) {
                s0 += codes[from + d] * query[d];
                s1 += codes[from + d + 1] * query[d + 1];
                s2 += codes[from + d + 2] * query[d + 2];
                s3 += codes[from + d + 3] * query[d + 3];
            }
            for (; d < dims; d++) {
                s0 += codes[from + d] * query[d];
            }
            return s0 + s1 + s2 + s3;
        }

        @Override
        public int lanes() {
            return 1;
        }
    }
}
