package dev.parley.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws 0..n-1 with probability proportional to 1/(rank+1)^s: a few items carry most of the
 * traffic, as users and characters do in chat apps. Sampling is a binary search in the cumulative table.
 */
final class Zipf {
    private final double[] cumulative;

    Zipf(int n, double exponent) {
        cumulative = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += 1.0 / Math.pow(i + 1, exponent);
            cumulative[i] = total;
        }
        for (int i = 0; i < n; i++) {
            cumulative[i] /= total;
        }
    }

    int next(SplittableRandom random) {
        int at = Arrays.binarySearch(cumulative, random.nextDouble());
        return Math.min(cumulative.length - 1, at >= 0 ? at : -at - 1);
    }
}
