package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RecallScorerTest {
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void a_small_scope_uses_the_fixed_threshold() {
        double[] similarities = {0.9, 0.1, 0.2};

        assertThat(RecallScorer.threshold(similarities, 1.0, request(0.25, true))).isEqualTo(0.25);
    }

    @Test
    void a_large_scope_raises_the_threshold_to_two_deviations_above_the_mean() {
        double[] similarities = new double[100];
        Arrays.fill(similarities, 0, 50, 0.1);
        Arrays.fill(similarities, 50, 100, 0.3); // mean 0.2, deviation 0.1

        assertThat(RecallScorer.threshold(similarities, 1.0, request(0.0, true))).isCloseTo(0.4, within(1e-9));
        assertThat(RecallScorer.threshold(similarities, 1.0, request(0.5, true))).isEqualTo(0.5);
        assertThat(RecallScorer.threshold(similarities, 1.0, request(0.0, false))).isEqualTo(0.0);
        assertThat(RecallScorer.threshold(similarities, 0.35, request(0.0, true))).as("no higher than the best").isEqualTo(0.35);
    }

    @Test
    void of_two_equally_similar_memories_the_recent_one_ranks_first() {
        float[] v = Embedding.unit("e", new float[] {1, 0});
        long old = NOW - Duration.ofDays(90).toMillis();
        var scope = ScopeVectors.of(1, 2, new long[] {10, 11}, new long[] {0, 0}, concat(v, v), new float[] {0.5f, 0.5f}, new long[] {old, NOW},
                new long[] {0, 0});

        var scored = RecallScorer.score(scope, v, request(0.0, false), NOW);

        assertThat(scored.hits()).extracting(RecallScorer.Hit::index).containsExactly(1, 0);
        assertThat(scored.hits().get(0).score() - scored.hits().get(1).score())
                .isCloseTo(RecallRequest.DEFAULT_RECENCY_WEIGHT * (1 - Math.pow(0.5, 3)), within(1e-6));
    }

    @Test
    void a_memory_of_the_requests_conversation_gains_the_conversation_weight() {
        float[] v = Embedding.unit("e", new float[] {1, 0});
        var scope = ScopeVectors.of(1, 2, new long[] {10, 11}, new long[] {0, 0}, concat(v, v), new float[] {0.9f, 0.1f}, new long[] {NOW, NOW},
                new long[] {0, 77});
        var plain = request(0.0, false);
        var weighted = new RecallRequest(plain.embedding(), 10, 0.0, false, plain.halfLifeDays(), plain.recencyWeight(),
                plain.importanceWeight(), 77L, 0.5);

        var unboosted = RecallScorer.score(scope, v, plain, NOW);
        var boosted = RecallScorer.score(scope, v, weighted, NOW);

        assertThat(unboosted.hits()).extracting(RecallScorer.Hit::index).containsExactly(0, 1);
        assertThat(boosted.hits()).extracting(RecallScorer.Hit::index).containsExactly(1, 0);
        assertThat(boosted.hits().get(0).score() - unboosted.hits().get(1).score()).isCloseTo(0.5, within(1e-6));
    }

    @Test
    void an_8_bit_similarity_is_within_its_slack_of_the_exact_one_for_awkward_vectors() {
        var random = new Random(3);
        int dims = 96;
        List<float[]> vectors = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            vectors.add(Embedding.unit("v", gaussian(random, dims)));
        }
        float[] spike = new float[dims]; // one large value: every other one rounds to a code of 0
        spike[0] = 1;
        for (int d = 1; d < dims; d++) {
            spike[d] = 0.004f * (d % 3 - 1);
        }
        vectors.add(Embedding.unit("spike", spike));
        float[] flat = new float[dims];
        Arrays.fill(flat, 1);
        vectors.add(Embedding.unit("flat", flat));
        vectors.add(new float[dims]); // all zeros, as no model writes, but the codes must not fail on it
        ScopeVectors scope = scope(vectors, dims);

        for (int q = 0; q < 50; q++) {
            float[] query = q % 2 == 0 ? Embedding.unit("q", gaussian(random, dims)) : gaussian(random, dims); // any length
            double length = 0;
            for (float value : query) {
                length += (double) value * value;
            }
            for (int i = 0; i < scope.size(); i++) {
                assertThat(Math.abs(scope.approximateSimilarity(i, query) - scope.similarity(i, query)))
                        .as("vector %d, query %d", i, q).isLessThanOrEqualTo(Math.sqrt(length) * scope.slack(i));
            }
        }
    }

    @Test
    void each_vectors_largest_value_is_coded_127_in_size_and_no_code_wraps_around() {
        var random = new Random(9);
        int dims = 33;
        float[] vectors = new float[4 * dims];
        Arrays.fill(vectors, 0, dims, 0.3f); // all equal: every code is the largest
        for (int d = dims; d < vectors.length; d++) {
            vectors[d] = (float) random.nextGaussian();
        }
        vectors[2 * dims + 5] = -40; // a negative largest value
        vectors[3 * dims + 7] = Math.nextDown(40f); // a positive one, just below the other's size

        ScopeVectors.Chunk chunk = ScopeVectors.Chunk.of(vectors, dims);

        for (int row = 0; row < 4; row++) {
            int largest = 0;
            for (int d = 0; d < dims; d++) {
                largest = Math.max(largest, Math.abs(chunk.codes()[row * dims + d]));
            }
            assertThat(largest).as("row %d", row).isEqualTo(127);
        }
        assertThat(chunk.codes()[2 * dims + 5]).isEqualTo((byte) -127);
        assertThat(chunk.codes()[3 * dims + 7]).isEqualTo((byte) 127);
    }

    @Test
    void recall_returns_exactly_what_comparing_every_vector_exactly_returns_at_the_threshold_it_reports() {
        var random = new Random(5);
        int dims = 128;
        float[][] topics = new float[8][];
        for (int t = 0; t < topics.length; t++) {
            topics[t] = Embedding.unit("topic", gaussian(random, dims));
        }
        List<float[]> vectors = new ArrayList<>(); // clusters around topics, so many similarities crowd the threshold
        for (int i = 0; i < 3_000; i++) {
            float[] noise = gaussian(random, dims);
            float[] topic = topics[i % topics.length];
            float[] vector = new float[dims];
            for (int d = 0; d < dims; d++) {
                vector[d] = topic[d] * (1 + i % 5) + noise[d] * 0.15f;
            }
            vectors.add(Embedding.unit("v", vector));
        }
        ScopeVectors scope = scope(vectors, dims);

        for (int q = 0; q < 40; q++) {
            float[] query = new float[dims];
            float[] noise = gaussian(random, dims);
            for (int d = 0; d < dims; d++) {
                query[d] = topics[q % topics.length][d] + noise[d] * (q % 4) * 0.1f;
            }
            Embedding.unit("q", query);
            for (var request : List.of(RecallRequest.of(query, 10), request(query, 0.0, true, 50), request(query, 0.3, false, 25))) {
                var scored = RecallScorer.score(scope, query, request, NOW);

                // By index: the Vector API's sums may round a last bit differently once the JIT has compiled them.
                assertThat(scored.hits()).as("query %d, %s", q, request).extracting(RecallScorer.Hit::index)
                        .containsExactlyElementsOf(bruteForce(scope, query, request, scored.threshold()).stream()
                                .map(RecallScorer.Hit::index).toList());
                double[] exact = new double[scope.size()];
                for (int i = 0; i < exact.length; i++) {
                    exact[i] = scope.similarity(i, query);
                }
                assertThat(scored.threshold()).as("the threshold from the 8-bit similarities")
                        .isCloseTo(RecallScorer.threshold(exact, Arrays.stream(exact).max().orElseThrow(), request), within(0.01));
            }
        }
    }

    @Test
    void a_scope_of_memories_all_as_close_as_the_best_returns_the_best_not_nothing() {
        var random = new Random(11);
        int dims = 64;
        float[] query = Embedding.unit("q", gaussian(random, dims));
        List<float[]> vectors = new ArrayList<>(); // near-copies of the query: mean + 2 deviations is above them all
        for (int i = 0; i < 50; i++) {
            float[] noise = gaussian(random, dims);
            float[] vector = new float[dims];
            for (int d = 0; d < dims; d++) {
                vector[d] = query[d] + noise[d] * 1e-4f;
            }
            vectors.add(Embedding.unit("v", vector));
        }
        ScopeVectors scope = scope(vectors, dims);
        double best = 0;
        for (int i = 0; i < scope.size(); i++) {
            best = Math.max(best, scope.similarity(i, query));
        }

        var scored = RecallScorer.score(scope, query, request(query, 0.0, true, 10), NOW);

        assertThat(scored.threshold()).as("never above the best memory's similarity").isLessThanOrEqualTo(best);
        assertThat(scored.hits()).isNotEmpty();
        assertThat(scored.hits().get(0).similarity()).isGreaterThanOrEqualTo(scored.threshold());
    }

    /** Every vector compared exactly: those at or above the threshold, best first by score. */
    private static List<RecallScorer.Hit> bruteForce(ScopeVectors scope, float[] query, RecallRequest request, double threshold) {
        List<RecallScorer.Hit> hits = new ArrayList<>();
        for (int i = 0; i < scope.size(); i++) {
            double similarity = scope.similarity(i, query);
            if (similarity >= threshold) {
                hits.add(new RecallScorer.Hit(i, similarity, RecallScorer.score(scope, i, similarity, request, NOW)));
            }
        }
        hits.sort(Comparator.comparingDouble(RecallScorer.Hit::score).reversed());
        return hits.subList(0, Math.min(request.limit(), hits.size()));
    }

    private static ScopeVectors scope(List<float[]> vectors, int dims) {
        int size = vectors.size();
        float[] flat = new float[size * dims];
        long[] created = new long[size];
        float[] importance = new float[size];
        for (int i = 0; i < size; i++) {
            System.arraycopy(vectors.get(i), 0, flat, i * dims, dims);
            created[i] = NOW - Duration.ofHours(i).toMillis();
            importance[i] = (i % 10) / 10f;
        }
        return ScopeVectors.of(1, dims, new long[size], new long[size], flat, importance, created, new long[size]);
    }

    private static float[] gaussian(Random random, int dims) {
        float[] values = new float[dims];
        for (int d = 0; d < dims; d++) {
            values[d] = (float) random.nextGaussian();
        }
        return values;
    }

    @Test
    void embeddings_are_scaled_to_unit_length() {
        float[] v = Embedding.unit("e", new float[] {3, 4});

        assertThat(v[0]).isCloseTo(0.6f, within(1e-6f));
        assertThat(v[1]).isCloseTo(0.8f, within(1e-6f));
    }

    private static RecallRequest request(double minSimilarity, boolean adaptive) {
        return request(new float[] {1, 0}, minSimilarity, adaptive, 10);
    }

    private static RecallRequest request(float[] query, double minSimilarity, boolean adaptive, int limit) {
        return new RecallRequest(query, limit, minSimilarity, adaptive, RecallRequest.DEFAULT_HALF_LIFE_DAYS,
                RecallRequest.DEFAULT_RECENCY_WEIGHT, RecallRequest.DEFAULT_IMPORTANCE_WEIGHT, null, 0);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
