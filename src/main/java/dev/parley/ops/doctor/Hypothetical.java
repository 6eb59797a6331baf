package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.Optional;

/**
 * HypoPG's hypothetical indexes: the planner costs a statement as if an index existed, and nothing is
 * built. Used to confirm that a suggested btree index lowers a statement's plan cost before the doctor
 * suggests it. HypoPG cannot simulate GIN, so JSONB and trigram suggestions are never confirmed this way.
 */
final class Hypothetical {
    private static final Query EXTENSION = new Query("doctor.hypopg_schema", """
            SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'hypopg'""");

    private final Inspection inspection;
    private final Query create;
    private final Query reset;

    private Hypothetical(Inspection inspection, String schema) {
        this.inspection = inspection;
        this.create = new Query("doctor.hypopg_create", "SELECT indexrelid FROM " + schema + ".hypopg_create_index(?)");
        this.reset = new Query("doctor.hypopg_reset", "SELECT " + schema + ".hypopg_reset()");
    }

    static Optional<Hypothetical> open(Inspection inspection) throws SQLException {
        return inspection.handle().first(EXTENSION, row -> row.getString(1)).map(schema -> new Hypothetical(inspection, schema));
    }

    /** The statement's generic plan with the index {@code createIndex} (a CREATE INDEX statement) in place. */
    Workload.Plan planWith(String createIndex, String statement) throws SQLException {
        try {
            inspection.handle().first(create, row -> row.getLong(1), createIndex);
            return Workload.explain(inspection, statement);
        } finally {
            inspection.handle().first(reset, row -> true);
        }
    }
}
