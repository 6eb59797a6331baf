package dev.parley.ops.doctor;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * index.duplicate: an index whose every use another index on the same table already serves, either
 * identical (same keys, operator classes, collations, order, expressions and predicate) or a leading
 * prefix of a longer btree index. It costs a write on every insert and update for nothing. The index
 * that backs a constraint, enforces uniqueness or is the replica identity is always the one kept.
 */
final class DuplicateIndexes implements Check {
    @Override
    public String id() {
        return "index.duplicate";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<IndexDefinition> valid = inspection.indexes().stream().filter(IndexDefinition::valid).toList();
        List<Finding> findings = new ArrayList<>();
        for (IndexDefinition candidate : valid) {
            if (!candidate.droppable()) {
                continue;
            }
            valid.stream()
                    .filter(keeper -> keeper.oid() != candidate.oid() && candidate.comparableTo(keeper))
                    .flatMap(keeper -> redundancy(candidate, keeper).map(r -> finding(candidate, keeper, r)).stream())
                    .findFirst()
                    .ifPresent(findings::add);
        }
        return findings;
    }

    /** How {@code candidate} relates to the index that makes it useless, and why that one stays. */
    private record Redundancy(String relation, String keptBecause) {
    }

    private static Optional<Redundancy> redundancy(IndexDefinition candidate, IndexDefinition keeper) {
        if (candidate.unique() && !keeper.unique()) {
            return Optional.empty(); // the candidate enforces something the keeper does not
        }
        if (candidate.sameKeysAs(keeper) && candidate.includedCoveredBy(keeper)) {
            String duty = duty(keeper);
            boolean tie = duty == null && keeper.unique() == candidate.unique() && keeper.includedCoveredBy(candidate);
            if (tie && keeper.name().compareTo(candidate.name()) > 0) {
                return Optional.empty(); // of two equals, report only the one whose name sorts last
            }
            return Optional.of(new Redundancy("identical to", duty != null ? duty
                    : !keeper.includedCoveredBy(candidate) ? "it INCLUDEs more columns"
                    : keeper.unique() && !candidate.unique() ? "it is unique"
                    : "the two are identical and the kept one's name sorts first"));
        }
        if (candidate.method().equals("btree") && !candidate.unique() && candidate.keysArePrefixOf(keeper)
                && candidate.includedCoveredBy(keeper)) {
            String duty = duty(keeper);
            return Optional.of(new Redundancy("a leading prefix of", duty != null ? duty : "it is the longer index"));
        }
        return Optional.empty();
    }

    /** What an index does besides speeding up queries, which makes it the one to keep. */
    private static String duty(IndexDefinition index) {
        return index.primary() ? "it is the primary key" : index.backsConstraint() ? "it backs a constraint"
                : index.replicaIdentity() ? "it is the replica identity" : index.attached() ? "it is part of a partitioned index"
                : null;
    }

    private Finding finding(IndexDefinition redundant, IndexDefinition keeper, Redundancy why) {
        Fix fix = redundant.partitioned()
                ? Fix.manual("DROP INDEX " + redundant.name() + ";") // CONCURRENTLY is refused on partitioned indexes
                : Fix.automatic("DROP INDEX CONCURRENTLY " + redundant.name() + ";");
        return new Finding(id(), Severity.WARNING, redundant.name(),
                redundant.name() + " is " + why.relation() + " " + keeper.name() + ": every query it serves, " + keeper.name()
                        + " serves too, and each write to " + redundant.table() + " updates both",
                new Evidence()
                        .with("index", redundant.definition())
                        .with("kept_index", keeper.definition())
                        .with("kept_because", why.keptBecause())
                        .with("size", Pretty.bytes(redundant.bytes()))
                        .with("size_bytes", redundant.bytes()),
                fix);
    }
}
