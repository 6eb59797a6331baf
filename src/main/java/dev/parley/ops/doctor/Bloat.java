package dev.parley.ops.doctor;

/**
 * Estimates how many pages a table or btree index would need if packed as on a fresh build, from
 * row counts and the average column widths ANALYZE recorded. Widths without alignment padding make
 * the estimate err on the small side, so the threshold asks for half the relation to be wasted.
 */
final class Bloat {
    static final double RATIO = 0.5;
    static final long MIN_WASTED_BYTES = 10L << 20;
    private static final int PAGE_HEADER = 24;
    private static final int LINE_POINTER = 4;
    private static final int BTREE_SPECIAL = 16;
    private static final int HEAP_TUPLE_HEADER = 23;
    private static final int INDEX_TUPLE_HEADER = 8;

    private Bloat() {
    }

    /** Pages of a heap holding {@code rows} rows of {@code dataWidth} bytes with {@code columns} columns. */
    static long expectedHeapPages(int blockSize, double rows, double dataWidth, int columns, boolean hasNulls, int fillfactor) {
        int header = align(HEAP_TUPLE_HEADER + (hasNulls ? (columns + 7) / 8 : 0));
        double tuple = align(header + dataWidth) + LINE_POINTER;
        return pages(rows, tuple, (blockSize - PAGE_HEADER) * fillfactor / 100.0);
    }

    /** Pages of a btree index with {@code rows} entries of {@code dataWidth} bytes: leaves, upper levels and the metapage. */
    static long expectedBtreePages(int blockSize, double rows, double dataWidth, boolean hasNulls, int fillfactor) {
        double tuple = align(INDEX_TUPLE_HEADER + (hasNulls ? 4 : 0) + dataWidth) + LINE_POINTER;
        double usable = (blockSize - PAGE_HEADER - BTREE_SPECIAL) * fillfactor / 100.0;
        long leaves = pages(rows, tuple, usable);
        return leaves + pages(leaves, tuple, usable) + 1;
    }

    static boolean significant(long wastedBytes, long actualBytes) {
        return wastedBytes >= MIN_WASTED_BYTES && wastedBytes >= RATIO * actualBytes;
    }

    private static long pages(double rows, double tupleBytes, double usableBytes) {
        double perPage = Math.max(1, Math.floor(usableBytes / tupleBytes));
        return (long) Math.ceil(rows / perPage);
    }

    private static int align(double bytes) {
        return (int) (Math.ceil(bytes / 8) * 8);
    }
}
