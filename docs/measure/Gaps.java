import java.util.ArrayList;
import java.util.List;

/**
 * How long the machine takes its cores away: one thread per core spins reading the clock and counts the gaps between
 * two reads, by length. On an idle machine a gap is time the thread was not running: the kernel ran something else,
 * or the hypervisor ran another guest. Run it with nothing else busy.
 *
 *   java docs/measure/Gaps.java 2 60     (threads, seconds)
 */
public class Gaps {
    private static final long[] BOUNDS_MILLIS = {2, 5, 10, 20, 50, 100, 200};
    private static final String[] NAMES = {"1-2 ms", "2-5", "5-10", "10-20", "20-50", "50-100", "100-200", ">200"};

    public static void main(String[] args) throws InterruptedException {
        int threads = Integer.parseInt(args[0]);
        long seconds = Long.parseLong(args[1]);
        long[][] counts = new long[threads][NAMES.length];
        long[] longest = new long[threads];
        List<Thread> spinners = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread spinner = new Thread(() -> {
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                long last = System.nanoTime();
                while (last < end) {
                    long now = System.nanoTime();
                    long gap = now - last;
                    last = now;
                    if (gap > 1_000_000) {
                        counts[id][bucket(gap / 1_000_000)]++;
                        longest[id] = Math.max(longest[id], gap);
                    }
                }
            });
            spinner.start();
            spinners.add(spinner);
        }
        for (Thread spinner : spinners) {
            spinner.join();
        }
        for (int t = 0; t < threads; t++) {
            StringBuilder line = new StringBuilder("thread " + t + ":");
            for (int b = 0; b < NAMES.length; b++) {
                line.append(' ').append(NAMES[b]).append('=').append(counts[t][b]);
            }
            System.out.printf("%s  longest %.1f ms%n", line, longest[t] / 1e6);
        }
    }

    private static int bucket(long millis) {
        for (int b = 0; b < BOUNDS_MILLIS.length; b++) {
            if (millis < BOUNDS_MILLIS[b]) {
                return b;
            }
        }
        return BOUNDS_MILLIS.length;
    }
}
