package dev.parley.ops.doctor;

import dev.parley.db.Query;
import dev.parley.lifecycle.Archive;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * partition.moves: a month on its way out of Parley's messages (into the archive, or out to be dropped by retention)
 * whose move started more than an hour ago and has not ended ({@code partition_moves}): cut short by a crash or an
 * interrupt, as a running move takes minutes. A month moving into the archive refuses writes (503 month-archiving)
 * until {@code parley archive} or serve's daily maintenance finishes it; retention's next round finishes its own.
 * Parley's database only: on any other there is no {@code partition_moves} and nothing to find.
 */
final class PartitionMoves implements Check {
    static final Duration CUT_SHORT_AFTER = Duration.ofHours(1);

    private static final Query PARLEYS = new Query("doctor.partition_moves_table",
            "SELECT to_regclass('partition_moves') IS NOT NULL");
    private static final Query MOVES = new Query("doctor.partition_moves",
            "SELECT partition_name, destination, started_at FROM partition_moves ORDER BY started_at, partition_name");

    @Override
    public String id() {
        return "partition.moves";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        if (!inspection.one(PARLEYS, row -> row.getBoolean(1))) {
            return List.of();
        }
        Instant before = inspection.server().now().minus(CUT_SHORT_AFTER);
        return inspection.list(MOVES, row -> new Move(row.getString(1), row.getString(2), row.getTimestamp(3).toInstant()))
                .stream().filter(move -> move.startedAt().isBefore(before))
                .map(this::finding)
                .toList();
    }

    private Finding finding(Move move) {
        boolean archive = move.destination().equals(Archive.SCHEMA);
        String finisher = archive ? "'parley archive' (or serve's daily maintenance)"
                : "the next retention round ('parley retention apply', or serve's daily maintenance)";
        return new Finding(id(), Severity.WARNING, move.partition(), "the move of " + move.partition() + " into "
                + move.destination() + " started at " + move.startedAt() + " and has not ended, cut short"
                + (archive ? ": the month refuses writes until " : ": ") + finisher + " finishes it",
                new Evidence().with("destination", move.destination()).with("started_at", move.startedAt().toString()),
                Fix.manual("-- " + (archive ? "parley archive --older-than <the age you archive at>" : "parley retention apply")
                        + ": it finishes every move under way first"));
    }

    private record Move(String partition, String destination, Instant startedAt) {
    }
}
