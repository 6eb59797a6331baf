package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RecallScorerTest {
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void a_small_scope_uses_the_fixed_threshold() {
        double[] similarities = {0.9, 0.1, 0.2};

        assertThat(RecallScorer.threshold(similarities, request(0.25, true))).isEqualTo(0.25);
    }

    @Test
    void a_large_scope_raises_the_threshold_to_two_deviations_above_the_mean() {
        double[] similarities = new double[100];
        Arrays.fill(similarities, 0, 50, 0.1);
        Arrays.fill(similarities, 50, 100, 0.3); // mean 0.2, deviation 0.1

        assertThat(RecallScorer.threshold(similarities, request(0.0, true))).isCloseTo(0.4, within(1e-9));
        assertThat(RecallScorer.threshold(similarities, request(0.5, true))).isEqualTo(0.5);
        assertThat(RecallScorer.threshold(similarities, request(0.0, false))).isEqualTo(0.0);
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
    void embeddings_are_scaled_to_unit_length() {
        float[] v = Embedding.unit("e", new float[] {3, 4});

        assertThat(v[0]).isCloseTo(0.6f, within(1e-6f));
        assertThat(v[1]).isCloseTo(0.8f, within(1e-6f));
    }

    private static RecallRequest request(double minSimilarity, boolean adaptive) {
        return new RecallRequest(new float[] {1, 0}, 10, minSimilarity, adaptive, RecallRequest.DEFAULT_HALF_LIFE_DAYS,
                RecallRequest.DEFAULT_RECENCY_WEIGHT, RecallRequest.DEFAULT_IMPORTANCE_WEIGHT, null, 0);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
