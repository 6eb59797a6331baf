package dev.parley.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Exact recall over one scope: every vector is compared with the query, so nothing relevant is
 * missed (recall 1.0). A memory must clear the similarity threshold to count; those that do are
 * ranked by similarity plus weighted recency and importance.
 *
 * <p>The threshold adapts to the scope: in a scope of at least {@link #ADAPTIVE_MIN_SCOPE}
 * memories it is raised to mean + {@link #ADAPTIVE_SIGMAS} standard deviations of this query's
 * similarities, so only memories that stand out from the user's background come back, whatever
 * the embedding model's typical similarity range; but never above the best memory's similarity, so the closest
 * memories come back from a scope where none stands out.
 *
 * <p>Every vector is compared twice over: first through its 8-bit copy, a quarter of the bytes (a large scope's
 * comparisons wait on memory, not arithmetic: docs/benchmarks.md), which gives each memory a similarity within a
 * known slack of its exact one; then exactly, for the memories whose similarity could reach the threshold by that
 * slack. What is returned is ranked and cut by the exact similarity. The adaptive threshold's mean and deviation
 * are those of the first pass's similarities.
 */
final class RecallScorer {
    static final int ADAPTIVE_MIN_SCOPE = 20;
    static final double ADAPTIVE_SIGMAS = 2.0;
    private static final double MILLIS_PER_DAY = 86_400_000d;

    /** Memory {@code index} of the scope, its cosine similarity to the query, and its final score. */
    record Hit(int index, double similarity, double score) {
    }

    record Scored(double threshold, List<Hit> hits) {
    }

    private RecallScorer() {
    }

    static Scored score(ScopeVectors scope, float[] query, RecallRequest request, long nowMillis) {
        double queryLength = length(query);
        double[] approximate = new double[scope.size()];
        double bestFloor = Double.NEGATIVE_INFINITY; // the highest similarity some memory is sure to have
        for (int i = 0; i < approximate.length; i++) {
            approximate[i] = scope.approximateSimilarity(i, query);
            bestFloor = Math.max(bestFloor, approximate[i] - queryLength * scope.slack(i));
        }
        double threshold = threshold(approximate, bestFloor, request);
        var best = new PriorityQueue<Hit>(Comparator.comparingDouble(Hit::score));
        for (int i = 0; i < approximate.length; i++) {
            if (approximate[i] + queryLength * scope.slack(i) < threshold) {
                continue; // so is its exact similarity
            }
            double similarity = scope.similarity(i, query);
            if (similarity < threshold) {
                continue;
            }
            best.add(new Hit(i, similarity, score(scope, i, similarity, request, nowMillis)));
            if (best.size() > request.limit()) {
                best.poll();
            }
        }
        List<Hit> hits = new ArrayList<>(best);
        hits.sort(Comparator.comparingDouble(Hit::score).reversed());
        return new Scored(threshold, hits);
    }

    private static double length(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += (double) value * value;
        }
        return Math.sqrt(sum);
    }

    /**
     * The fixed threshold, or in a large enough scope the adaptive one, which is never above {@code best}: the
     * highest similarity a memory of the scope is sure to have. Where every memory is as close to the query as
     * the best (near-copies), mean + 2 deviations is above them all, and the closest come back, not nothing.
     */
    static double threshold(double[] similarities, double best, RecallRequest request) {
        if (!request.adaptive() || similarities.length < ADAPTIVE_MIN_SCOPE) {
            return request.minSimilarity();
        }
        double mean = 0;
        for (double s : similarities) {
            mean += s;
        }
        mean /= similarities.length;
        double variance = 0;
        for (double s : similarities) {
            variance += (s - mean) * (s - mean);
        }
        double deviation = Math.sqrt(variance / similarities.length);
        return Math.max(request.minSimilarity(), Math.min(best, mean + ADAPTIVE_SIGMAS * deviation));
    }

    /**
     * similarity + recency weight × 2^(−age / half-life) + importance weight × importance
     * + conversation weight when the memory comes from the request's conversation.
     */
    static double score(ScopeVectors scope, int i, double similarity, RecallRequest request, long nowMillis) {
        double ageDays = Math.max(0, nowMillis - scope.createdMillis()[i]) / MILLIS_PER_DAY;
        double recency = Math.pow(0.5, ageDays / request.halfLifeDays());
        boolean sameConversation = request.conversationId() != null && scope.conversations()[i] == request.conversationId();
        return similarity + request.recencyWeight() * recency + request.importanceWeight() * scope.importance()[i]
                + (sameConversation ? request.conversationWeight() : 0);
    }
}
