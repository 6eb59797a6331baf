package dev.parley.support;

import dev.parley.db.Partitions;
import dev.parley.lifecycle.Archive;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.YearMonth;

/** A hot month as an archive move leaves it after its copy step (Archive): copied into the archive, and still hot. */
public final class ArchiveCopies {
    private ArchiveCopies() {
    }

    /** Copies {@code month}'s hot partition into a new archived one, attached to the archive, the hot one left as it is. */
    public static void copyIntoArchive(Statement s, YearMonth month) throws SQLException {
        String hot = Partitions.nameOf(month);
        String archived = Archive.SCHEMA + "." + hot;
        String columns;
        try (var row = s.executeQuery(Archive.COLUMNS.sql())) {
            row.next();
            columns = row.getString(1);
        }
        s.execute("DROP TABLE IF EXISTS " + archived);
        s.execute("CREATE TABLE " + archived + " (LIKE " + Partitions.ARCHIVE + " INCLUDING DEFAULTS)");
        s.execute("INSERT INTO " + archived + " (" + columns + ") SELECT " + columns + " FROM " + hot);
        s.execute("ALTER TABLE " + Partitions.ARCHIVE + " ATTACH PARTITION " + archived + " FOR VALUES FROM ("
                + Partitions.floorOf(month) + ") TO (" + Partitions.floorOf(month.plusMonths(1)) + ")");
        s.execute("ANALYZE " + archived);
    }
}
