package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DotProductTest {
    @Test
    void the_suite_runs_recall_in_simd_as_the_launcher_starts_serve_and_bench() {
        // Surefire's argLine adds jdk.incubator.vector (pom.xml) as the parley launcher does.
        assertThat(DotProduct.BEST).isInstanceOf(SimdDotProduct.class);
        assertThat(DotProduct.BEST.lanes()).isGreaterThan(1);
    }

    @Test
    void simd_and_scalar_agree_with_the_exact_sum_at_every_length_and_offset() {
        var random = new Random(7);
        // Lengths around the vector widths (4, 8, 16 floats) and the common embedding sizes.
        for (int dims : new int[] {1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 47, 384, 768, 1536}) {
            float[] query = gaussian(random, dims);
            int count = 5;
            int offset = 3; // a vector need not start at the array's start, nor at a multiple of the width
            float[] vectors = gaussian(random, offset + count * dims);
            for (int i = 0; i < count; i++) {
                int from = offset + i * dims;
                double exact = 0;
                for (int d = 0; d < dims; d++) {
                    exact += (double) vectors[from + d] * query[d];
                }
                double tolerance = 1e-5 * dims;
                assertThat((double) new SimdDotProduct().of(vectors, from, query)).as("simd, %d dims", dims)
                        .isCloseTo(exact, within(tolerance));
                assertThat((double) new DotProduct.Scalar().of(vectors, from, query)).as("scalar, %d dims", dims)
                        .isCloseTo(exact, within(tolerance));
            }
        }
    }

    @Test
    void simd_and_scalar_agree_with_the_exact_sum_over_8_bit_codes() {
        var random = new Random(11);
        for (int dims : new int[] {1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 384, 768, 1536}) {
            float[] query = gaussian(random, dims);
            int offset = 5;
            byte[] codes = new byte[offset + 3 * dims];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) random.nextInt(-127, 128);
            }
            for (int from = offset; from < codes.length; from += dims) {
                double exact = 0;
                for (int d = 0; d < dims; d++) {
                    exact += codes[from + d] * (double) query[d];
                }
                double tolerance = 1e-3 * dims;
                assertThat((double) new SimdDotProduct().ofCodes(codes, from, query)).as("simd, %d dims", dims)
                        .isCloseTo(exact, within(tolerance));
                assertThat((double) new DotProduct.Scalar().ofCodes(codes, from, query)).as("scalar, %d dims", dims)
                        .isCloseTo(exact, within(tolerance));
            }
        }
    }

    @Test
    void a_vector_is_read_only_within_its_own_dimensions() {
        float[] query = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        float[] vectors = new float[3 * query.length];
        Arrays.fill(vectors, 0, query.length, 100); // the vector before
        Arrays.fill(vectors, query.length, 2 * query.length, 2); // this one
        Arrays.fill(vectors, 2 * query.length, vectors.length, 100); // the one after

        assertThat(new SimdDotProduct().of(vectors, query.length, query)).isEqualTo(2f * query.length);
        assertThat(new DotProduct.Scalar().of(vectors, query.length, query)).isEqualTo(2f * query.length);
    }

    @Test
    void where_float_vectors_are_128_bits_wide_the_same_checks_pass() throws Exception {
        // No byte vector is as narrow as four floats' (SimdDotProduct's codes then go through plain Java): a JVM told to
        // use vectors of 16 bytes at most, as on a CPU without AVX, runs the checks above through main below.
        String java = ProcessHandle.current().info().command().orElseThrow();
        var process = new ProcessBuilder(java, "-XX:MaxVectorSize=16", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), DotProductTest.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(process.waitFor()).as(output).isZero();
        assertThat(output).as(output).contains("simd with 4 lanes");
    }

    /** The checks above in this JVM, for {@link #where_float_vectors_are_128_bits_wide_the_same_checks_pass}. */
    public static void main(String[] args) {
        var test = new DotProductTest();
        test.simd_and_scalar_agree_with_the_exact_sum_at_every_length_and_offset();
        test.simd_and_scalar_agree_with_the_exact_sum_over_8_bit_codes();
        test.a_vector_is_read_only_within_its_own_dimensions();
        System.out.println((DotProduct.BEST instanceof SimdDotProduct ? "simd" : "scalar") + " with " + DotProduct.BEST.lanes() + " lanes");
    }

    private static float[] gaussian(Random random, int length) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }
}
