package dev.parley.cache;

import dev.parley.db.Database;
import java.util.function.Supplier;

/**
 * Where a shared view's loader runs: in one snapshot of the database, named by text that sorts in the
 * order snapshots were taken ({@link Database#inOneSnapshot}), so that of two loads of one view the one
 * that read older data can be told ({@link SharedViews}).
 */
@FunctionalInterface
public interface Snapshots {
    <T> Database.Snapshot<T> take(Supplier<T> loader);
}
