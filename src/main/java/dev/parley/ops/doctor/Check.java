package dev.parley.ops.doctor;

import java.sql.SQLException;
import java.util.List;

/** One rule of the audit: reads catalogs and statistics through an {@link Inspection} and says what it found. */
interface Check {
    /** A stable id, {@code group.name}, used by {@code --only} and in the JSON output. */
    String id();

    List<Finding> run(Inspection inspection) throws SQLException, Skipped;
}
