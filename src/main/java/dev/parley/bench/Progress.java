package dev.parley.bench;

import java.io.PrintWriter;

/** A one-line progress bar with rate and ETA (or, with no known total, a count and rate), redrawn at most twice a second. */
public final class Progress {
    private static final int WIDTH = 30;

    private final PrintWriter out;
    private final String what;
    private final long total;
    private final String unit;
    private final long startNanos = System.nanoTime();
    private long lastDrawNanos;
    private long done;

    Progress(PrintWriter out, String what, long total) {
        this(out, what, total, "rows");
    }

    /** {@code total} 0: unknown; {@code unit}: what is counted, for the rate ("rows", "bytes"). */
    public Progress(PrintWriter out, String what, long total, String unit) {
        this.out = out;
        this.what = what;
        this.total = total;
        this.unit = unit;
    }

    /** Counts {@code more} rows done, from any thread. */
    public synchronized void add(long more) {
        done += more;
        update(done);
    }

    public synchronized void update(long done) {
        long now = System.nanoTime();
        if (now - lastDrawNanos < 500_000_000L && done < total) {
            return;
        }
        lastDrawNanos = now;
        double seconds = Math.max(1e-3, (now - startNanos) / 1e9);
        double rate = done / seconds;
        if (total == 0) {
            out.printf("\r%-13s %s  %s %s/s   ", what, DatasetSpec.human(done), DatasetSpec.human((long) rate), unit);
            out.flush();
            return;
        }
        int filled = (int) (WIDTH * done / Math.max(1, total));
        String eta = rate > 0 ? formatSeconds((total - done) / rate) : "?";
        out.printf("\r%-13s %s/%s [%s%s] %3d%%  %s/s  ETA %s   ", what, DatasetSpec.human(done), DatasetSpec.human(total),
                "=".repeat(filled), " ".repeat(WIDTH - filled), 100 * done / Math.max(1, total), DatasetSpec.human((long) rate) + " " + unit, eta);
        out.flush();
    }

    /** Ends the line and returns the average rate in rows per second. */
    public synchronized double finish(long done) {
        lastDrawNanos = 0;
        update(done);
        out.println();
        out.flush();
        return done / Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
    }

    static String formatSeconds(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? "%dh%02dm".formatted(s / 3600, s % 3600 / 60) : s >= 60 ? "%dm%02ds".formatted(s / 60, s % 60) : s + "s";
    }
}
