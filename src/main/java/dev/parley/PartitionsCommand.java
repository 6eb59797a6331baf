package dev.parley;

import dev.parley.config.Settings;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Migrations;
import dev.parley.db.Partitions;
import dev.parley.lifecycle.Archive;
import dev.parley.ops.Maintenance;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "partitions", mixinStandardHelpOptions = true,
        description = {"Show the monthly partitions of messages, hot and archived, with their rows and bytes, and the rows in the catch-all partitions.",
                "Exit status 1 when a catch-all partition holds rows (a month was not made in time), or when messages or the archive",
                "has a DEFAULT partition (beside which no month is archived or dropped whole)."})
final class PartitionsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--ensure", description = "First make the current month and the next "
            + Maintenance.MONTHS_AHEAD + " (what serve does daily), and give each month with rows in a catch-all "
            + "partition its own, moving the rows there (in one transaction; appends wait meanwhile).")
    boolean ensure;

    @Override
    public Integer call() {
        Settings settings = database.settings();
        PrintWriter out = spec.commandLine().getOut();
        try (Storage storage = Storage.forCommand(settings);
             Database db = storage.connect()) {
            new Migrations(db.dataSource()).requireCurrent();
            var partitions = new Partitions(db);
            if (ensure) {
                partitions.ensureAhead(Clock.systemUTC().instant(), Maintenance.MONTHS_AHEAD);
                long moved = partitions.moveCatchAllRows();
                if (moved > 0) {
                    out.println("Moved " + moved + " row(s) out of the catch-all partitions into their months.");
                }
            }
            out.printf("%-8s %-22s %-26s %-26s %16s %12s%n", "WHERE", "PARTITION", "FROM", "TO", "ROWS (ESTIMATED)", "BYTES");
            List<Partitions.Partition> archived = partitions.listArchived();
            List<Partitions.Partition> hot = partitions.list();
            List<Partitions.Gap> gaps = partitions.gaps();
            print(out, "archive", partitions, Partitions.ARCHIVE, archived, Partitions.closed(archived, hot, gaps), "(closed: no rows)");
            print(out, "hot", partitions, Partitions.HOT, hot, gaps, "(gap: no rows)");
            long stragglers = partitions.catchAllRows();
            out.println(stragglers == 0 ? "The catch-all partitions are empty."
                    : stragglers + " row(s) sit in the catch-all partitions: run with --ensure to give their months a partition.");
            List<String> cutShort = partitions.movesTo(Archive.SCHEMA);
            for (String month : cutShort) {
                out.println("The move of " + month + " into the archive was cut short: its writes are refused until "
                        + "'parley archive' or serve's daily maintenance finishes it.");
            }
            boolean toDo = !cutShort.isEmpty();
            for (String parent : List.of(Partitions.HOT, Partitions.ARCHIVE)) {
                Optional<String> found = partitions.defaultPartition(parent);
                found.ifPresent(name -> out.println(Partitions.besideDefault(parent, name) + ": no month of it is "
                        + "archived or dropped whole while it is there; move its rows out and drop it (docs/operations.md, \"Partitions\")."));
                toDo |= found.isPresent();
            }
            return stragglers == 0 && !toDo ? 0 : 1;
        }
    }

    /**
     * One line per month: where it is, its range, its rows (the planner's estimate, or a count where it has none) and
     * its bytes with indexes (its growth).
     */
    private static void print(PrintWriter out, String where, Partitions partitions, String parent,
                              List<Partitions.Partition> months, List<Partitions.Gap> gaps, String gapLabel) {
        record Line(long from, String text) {
        }
        List<Line> lines = new ArrayList<>();
        for (var p : months) {
            lines.add(new Line(p.fromId() == null ? Long.MIN_VALUE : p.fromId(), String.format("%-8s %-22s %-26s %-26s %16d %12s%n",
                    where, p.name(), p.fromId() == null ? "(anything older)" : Ids.timeOf(p.fromId()).toString(),
                    p.toId() == null ? "(anything newer)" : Ids.timeOf(p.toId()).toString(), partitions.rows(parent, p),
                    bytes(p.bytes()))));
        }
        for (var gap : gaps) { // among the months, in time order: a range no month takes
            lines.add(new Line(gap.fromId(), String.format("%-8s %-22s %-26s %-26s %16d %12s%n", where, gapLabel,
                    Ids.timeOf(gap.fromId()), Ids.timeOf(gap.toId()), 0, "-")));
        }
        lines.sort(Comparator.comparingLong(Line::from));
        lines.forEach(line -> out.print(line.text()));
    }

    private static String bytes(long bytes) {
        return bytes < 10L << 20 ? (bytes >> 10) + " kB" : (bytes >> 20) + " MB";
    }
}
