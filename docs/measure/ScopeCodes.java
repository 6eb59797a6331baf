package dev.parley.memory;

import java.util.Random;

/**
 * What building a scope's vectors costs, its 8-bit codes and slack included: ScopeVectors.of over 10,000 vectors of 768
 * numbers, 15 rounds, beside a plain copy of the floats (docs/benchmarks.md, "A recall after a write reads only what was
 * written"). In Parley's package, as ScopeVectors is package-private, so compiled beside its classes rather than run as
 * a source file; the heap touched in advance, as a new heap's pages are otherwise faulted in during the rounds:
 *
 *   javac --add-modules jdk.incubator.vector -cp target/classes -d /tmp/scope-codes docs/measure/ScopeCodes.java
 *   java -Xms2g -Xmx2g -XX:+AlwaysPreTouch --add-modules jdk.incubator.vector \
 *        -cp target/classes:/tmp/scope-codes dev.parley.memory.ScopeCodes
 */
public class ScopeCodes {
    public static void main(String[] args) {
        int n = 10_000;
        int dims = 768;
        var random = new Random(1);
        float[] vectors = new float[n * dims];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = (float) random.nextGaussian();
        }
        long[] ids = new long[n];
        int perChunk = ScopeVectors.rowsPerChunk(dims);
        for (int round = 0; round < 15; round++) {
            long started = System.nanoTime();
            float[] copy = new float[n * dims];
            for (int first = 0; first < n; first += perChunk) {
                int rows = Math.min(perChunk, n - first);
                System.arraycopy(vectors, first * dims, copy, first * dims, rows * dims);
            }
            long copied = System.nanoTime();
            var scope = ScopeVectors.of(0, dims, ids, ids, vectors, new float[n], ids, ids);
            long built = System.nanoTime();
            System.out.printf("copy %.1f ms, ScopeVectors.of (copy, codes, slack) %.1f ms, %d chunks%n",
                    (copied - started) / 1e6, (built - copied) / 1e6, scope.chunks().length);
        }
    }
}
