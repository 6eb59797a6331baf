package dev.parley.ops.doctor;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Every check the doctor knows, in the order the report lists them: this table is what the doctor does. */
final class Checks {
    static final List<Check> ALL = List.of(
            new DuplicateIndexes(),
            new UnusedIndexes(),
            new InvalidIndexes(),
            new UnindexedForeignKeys(),
            new IndexBloat(),
            new SeqScans(),
            new JsonbWithoutGin(),
            new LikeWithoutTrigram(),
            new TableBloat(),
            new DeadTuples(),
            new StaleStatistics(),
            new Wraparound(),
            new AutovacuumSettings(),
            new CacheHitRatio(),
            new Connections(),
            new IdleInTransaction(),
            new LongRunning(),
            new LockWaits(),
            new ReplicationLag(),
            new ReplicationSlots(),
            new SequenceOverflow(),
            new FuturePartitions(),
            new DefaultPartitionRows(),
            new PartitionMoves(),
            new PartitionRetention(),
            new ServerSettings(),
            new TextEncoding());

    private Checks() {
    }

    static List<String> ids() {
        return ALL.stream().map(Check::id).toList();
    }

    /** The checks {@code --only} names, by id or by group ("index" selects every index.* check); all when none are named. */
    static List<Check> select(List<String> names) {
        if (names.isEmpty()) {
            return ALL;
        }
        Set<Check> chosen = new LinkedHashSet<>();
        List<String> unknown = new ArrayList<>();
        for (String name : names) {
            String wanted = name.strip();
            List<Check> matching = ALL.stream()
                    .filter(c -> c.id().equals(wanted) || c.id().startsWith(wanted + ".")).toList();
            if (matching.isEmpty()) {
                unknown.add(wanted);
            }
            chosen.addAll(matching);
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown check(s) " + unknown + "; checks are " + String.join(", ", ids())
                    + " (or a group: index, query, vacuum, runtime, partition, settings)");
        }
        return ALL.stream().filter(chosen::contains).toList();
    }

    /** Where a check stands in the report order. */
    static int order(String id) {
        return ids().indexOf(id);
    }
}
