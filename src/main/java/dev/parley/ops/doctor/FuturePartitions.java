package dev.parley.ops.doctor;

import dev.parley.ops.doctor.TimePartitions.Child;
import dev.parley.ops.doctor.TimePartitions.Parent;
import dev.parley.ops.doctor.TimePartitions.Step;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * partition.future: a time-partitioned table must have the partition for the coming period before that
 * period starts. Warning when the partitions end less than one period from now; critical when they have
 * already ended, because new rows then fail to insert (or, with a DEFAULT or catch-all partition, pile up
 * there and block creating the missing partition later). The fix makes {@value #AHEAD} periods ahead,
 * like Parley's own daily task (CREATE TABLE IF NOT EXISTS, so it can follow the partition.default_rows
 * fix, which creates the periods that already have rows in a catch-all and moves those rows).
 */
final class FuturePartitions implements Check {
    static final int AHEAD = 3;
    static final String PARLEY_FIX = "-- Parley makes its monthly partitions itself (daily, " + AHEAD
            + " months ahead, and at start-up of parley serve); to do it now run: parley partitions --ensure";

    @Override
    public String id() {
        return "partition.future";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        Instant now = inspection.server().now();
        List<Finding> findings = new ArrayList<>();
        for (Parent parent : inspection.partitions().parents()) {
            Optional<Instant> covered = parent.coveredUntil();
            Optional<Step> step = parent.step();
            if (covered.isPresent() && step.isPresent() && !covered.get().isBefore(step.get().after(now))) {
                continue;
            }
            boolean ended = covered.map(c -> !c.isAfter(now)).orElse(true);
            Severity severity = ended && parent.catchAlls().isEmpty() ? Severity.CRITICAL : Severity.WARNING;
            findings.add(finding(inspection, parent, covered, step, now, severity));
        }
        return findings;
    }

    private Finding finding(Inspection inspection, Parent parent, Optional<Instant> covered, Optional<Step> step, Instant now,
                            Severity severity) throws SQLException {
        String overflow = parent.catchAlls().isEmpty() ? "inserts fail" : "rows land in " + parent.catchAlls().get(0).name();
        String summary = covered.isEmpty() ? parent.name() + " has no time-range partitions at all: " + overflow
                : covered.get().isAfter(now) ? parent.name() + "'s partitions end at " + covered.get()
                        + ", less than one period (" + step.orElseThrow() + ") from now; after that, " + overflow
                : parent.name() + "'s partitions ended at " + covered.get() + "; since then, " + overflow;
        return new Finding(id(), severity, parent.name(), summary,
                new Evidence().with("covered_until", covered.map(Instant::toString).orElse("nothing"))
                        .with("partition_period", step.map(Step::toString).orElse(null))
                        .with("partitions", parent.ranges().size())
                        .with("catch_all_partitions", parent.catchAlls().stream().map(Child::name).toList()),
                fix(inspection, parent, covered, step, now));
    }

    private static Fix fix(Inspection inspection, Parent parent, Optional<Instant> covered, Optional<Step> step, Instant now)
            throws SQLException {
        if (parent.parley()) {
            return Fix.manual(PARLEY_FIX);
        }
        if (covered.isEmpty() || step.isEmpty()) {
            return Fix.manual("-- create range partitions for " + parent.name() + " covering now and the coming periods, "
                    + "e.g. CREATE TABLE ... PARTITION OF " + parent.name() + " FOR VALUES FROM (...) TO (...);");
        }
        Set<Instant> movedByDefaultRowsFix = new HashSet<>();
        if (step.get().truncField().isPresent()) {
            for (Child catchAll : parent.catchAlls()) {
                if (catchAll.readable()) {
                    movedByDefaultRowsFix.addAll(TimePartitions.periodsWithRows(inspection, parent, catchAll,
                            step.get().truncField().get()));
                }
            }
        }
        List<String> statements = new ArrayList<>();
        boolean leftToDefaultRowsFix = false;
        Instant target = now;
        for (int i = 0; i < AHEAD; i++) {
            target = step.get().after(target);
        }
        for (Instant lower = covered.get(); lower.isBefore(target) && statements.size() < TimePartitions.MAX_BUCKETS;
             lower = step.get().after(lower)) {
            if (movedByDefaultRowsFix.contains(lower)) {
                leftToDefaultRowsFix = true;
            } else {
                statements.add(parent.createPartition(lower, step.get().after(lower)));
            }
        }
        if (leftToDefaultRowsFix) {
            statements.add(0, "-- periods that already have rows in a catch-all partition are created by the "
                    + "partition.default_rows fix, which moves those rows; apply it first");
        }
        return Fix.manual(statements);
    }
}
