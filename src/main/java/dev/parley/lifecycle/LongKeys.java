package dev.parley.lifecycle;

/**
 * 64-bit keys, each with a 64-bit value or (made by {@link #set()}) none: open addressing over long arrays, 8 bytes a
 * key and 8 a value, about 1.5 times that with the free slots, where a {@code HashMap} of strings to {@code Long}s
 * takes 150 bytes an entry and more. What an import remembers of every line it read is kept in these, so a long import
 * holds 12-24 bytes a line, not the lines' external ids.
 */
final class LongKeys {
    /** What {@link #get} and {@link #putIfAbsent} answer for a key that is not there. */
    static final long ABSENT = Long.MIN_VALUE;

    private long[] keys = new long[1 << 10]; // 0 marks a free slot: key 0 is kept aside
    private long[] values;
    private int size;
    private boolean hasZero;
    private long zeroValue;

    private LongKeys(boolean withValues) {
        values = withValues ? new long[keys.length] : null;
    }

    /** Keys with a value each. */
    static LongKeys map() {
        return new LongKeys(true);
    }

    /** Keys alone: 8 bytes each. */
    static LongKeys set() {
        return new LongKeys(false);
    }

    /** True when {@code key} was not there before (and is now). */
    boolean add(long key) {
        return putIfAbsent(key, 0) == ABSENT;
    }

    /** The value {@code key} had, leaving it; or {@link #ABSENT}, putting it with {@code value}. */
    long putIfAbsent(long key, long value) {
        int slot = slotOf(key);
        if (slot >= 0) {
            return valueAt(slot);
        }
        put(key, value);
        return ABSENT;
    }

    /** {@code key}'s value, or {@link #ABSENT}. */
    long get(long key) {
        int slot = slotOf(key);
        return slot >= 0 ? valueAt(slot) : ABSENT;
    }

    void put(long key, long value) {
        if (key == 0) {
            hasZero = true;
            zeroValue = value;
            return;
        }
        int slot = slotOf(key);
        if (slot < 0) {
            slot = -slot - 1;
            keys[slot] = key;
            if (++size * 3 > keys.length * 2) {
                grow();
                slot = slotOf(key);
            }
        }
        if (values != null) {
            values[slot] = value;
        }
    }

    int size() {
        return size + (hasZero ? 1 : 0);
    }

    /** The slot holding {@code key} (key 0: {@link Integer#MAX_VALUE} if there), else {@code -(the free slot it would take) - 1}. */
    private int slotOf(long key) {
        if (key == 0) {
            return hasZero ? Integer.MAX_VALUE : -1;
        }
        int mask = keys.length - 1;
        // Mixed first: conversation ids one apart, or apart by a multiple of the table's size, would take neighbouring
        // or equal slots, and a linear probe would walk long runs of them.
        for (int slot = Long.hashCode(key * 0x9E3779B97F4A7C15L) & mask; ; slot = (slot + 1) & mask) {
            if (keys[slot] == key) {
                return slot;
            }
            if (keys[slot] == 0) {
                return -slot - 1;
            }
        }
    }

    private long valueAt(int slot) {
        if (values == null) {
            return 0;
        }
        return slot == Integer.MAX_VALUE ? zeroValue : values[slot];
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = oldValues == null ? null : new long[keys.length];
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0) {
                int slot = -slotOf(oldKeys[i]) - 1;
                keys[slot] = oldKeys[i];
                if (values != null) {
                    values[slot] = oldValues[i];
                }
            }
        }
    }
}
