package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * vacuum.wraparound: transaction ids (and multixact ids) are 32-bit; PostgreSQL stops accepting writes
 * before a database's oldest unfrozen id is 2^31 old. Autovacuum freezes tables once they pass
 * autovacuum_freeze_max_age, so an age well past that means freezing is failing: usually an old
 * transaction, prepared transaction or replication slot holds back the horizon, which the evidence lists.
 * Warning past 40% of the 2^31 space (or 1.25 x the freeze max age, if that is set higher), critical past 70%.
 */
final class Wraparound implements Check {
    static final long SPACE = 1L << 31;
    static final double WARNING = 0.4;
    static final double CRITICAL = 0.7;

    private static final Query DATABASES = new Query("doctor.wraparound", """
            SELECT quote_ident(datname) AS database, datname = current_database() AS current, datallowconn AS connectable,
                   age(datfrozenxid)::bigint AS xid_age, mxid_age(datminmxid)::bigint AS mxid_age,
                   current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age,
                   current_setting('autovacuum_multixact_freeze_max_age')::bigint AS multixact_freeze_max_age
              FROM pg_database
             ORDER BY 1""");

    // a TOAST table is frozen by vacuuming the table it belongs to
    private static final Query OLDEST_TABLES = new Query("doctor.wraparound_tables", """
            SELECT table_name, max(age) AS age
              FROM (SELECT coalesce((SELECT format('%I.%I', mn.nspname, m.relname)
                                       FROM pg_class m JOIN pg_namespace mn ON mn.oid = m.relnamespace
                                      WHERE m.reltoastrelid = c.oid), format('%I.%I', n.nspname, c.relname)) AS table_name,
                           greatest(age(c.relfrozenxid), mxid_age(c.relminmxid)) AS age
                      FROM pg_class c
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind IN ('r', 'm', 't')) ages
             GROUP BY 1
             ORDER BY 2 DESC
             LIMIT 5""");

    private static final Query HORIZON = new Query("doctor.xmin_horizon", """
            SELECT (SELECT max(age(backend_xmin)) FROM pg_stat_activity WHERE pid <> pg_backend_pid()) AS sessions,
                   (SELECT max(age(transaction)) FROM pg_prepared_xacts) AS prepared_transactions,
                   (SELECT max(greatest(age(xmin), age(catalog_xmin))) FROM pg_replication_slots) AS replication_slots""");

    @Override
    public String id() {
        return "vacuum.wraparound";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        for (var db : inspection.list(DATABASES, DatabaseAge::map)) {
            // a freeze max age raised near the limit must not silence the warning: it is capped at the critical mark
            double warnAt = Math.min(Math.max(WARNING * SPACE, 1.25 * db.freezeMaxAge()), CRITICAL * SPACE);
            double multiWarnAt = Math.min(Math.max(WARNING * SPACE, 1.25 * db.multixactFreezeMaxAge()), CRITICAL * SPACE);
            if (db.xidAge() < warnAt && db.mxidAge() < multiWarnAt) {
                continue;
            }
            long worst = Math.max(db.xidAge(), db.mxidAge());
            Severity severity = worst >= CRITICAL * SPACE ? Severity.CRITICAL : Severity.WARNING;
            findings.add(finding(inspection, db, severity));
        }
        return findings;
    }

    private Finding finding(Inspection inspection, DatabaseAge db, Severity severity) throws SQLException {
        Evidence evidence = new Evidence().with("xid_age", db.xidAge()).with("mxid_age", db.mxidAge())
                .with("used_of_wraparound_space", Pretty.percent((double) Math.max(db.xidAge(), db.mxidAge()) / SPACE))
                .with("autovacuum_freeze_max_age", db.freezeMaxAge());
        inspection.one(HORIZON, row -> evidence.with("oldest_session_xmin_age", row.getObject("sessions"))
                .with("oldest_prepared_transaction_age", row.getObject("prepared_transactions"))
                .with("oldest_replication_slot_xmin_age", row.getObject("replication_slots")));
        List<String> statements = new ArrayList<>();
        if (db.current()) {
            List<String> tables = inspection.list(OLDEST_TABLES, row -> row.getString("table_name"));
            evidence.with("oldest_tables", tables);
            tables.forEach(t -> statements.add("VACUUM (FREEZE, VERBOSE) " + t + ";"));
            statements.add("-- the database's age is its oldest table's: if more tables are as old, VACUUM (FREEZE, VERBOSE); "
                    + "freezes them all");
        } else if (!db.connectable()) {
            statements.add("-- " + db.name() + " refuses connections; let one in for the freeze, then close it again:");
            statements.add("ALTER DATABASE " + db.name() + " WITH ALLOW_CONNECTIONS true;");
            statements.add("-- connect to database " + db.name() + ", run VACUUM (FREEZE, VERBOSE); then:");
            statements.add("ALTER DATABASE " + db.name() + " WITH ALLOW_CONNECTIONS false;");
        } else {
            statements.add("-- connect to database " + db.name() + ", then:");
            statements.add("VACUUM (FREEZE, VERBOSE);");
        }
        return new Finding(id(), severity, db.name(),
                "database " + db.name() + " is " + Pretty.count(Math.max(db.xidAge(), db.mxidAge()))
                        + " transactions from its oldest unfrozen id; at 2^31 PostgreSQL stops accepting writes. "
                        + "First end whatever holds back the xmin horizon (see evidence), then freeze",
                evidence, Fix.manual(statements));
    }

    private record DatabaseAge(String name, boolean current, boolean connectable, long xidAge, long mxidAge,
                               long freezeMaxAge, long multixactFreezeMaxAge) {
        static DatabaseAge map(ResultSet row) throws SQLException {
            return new DatabaseAge(row.getString("database"), row.getBoolean("current"), row.getBoolean("connectable"),
                    row.getLong("xid_age"),
                    row.getLong("mxid_age"), row.getLong("freeze_max_age"), row.getLong("multixact_freeze_max_age"));
        }
    }
}
