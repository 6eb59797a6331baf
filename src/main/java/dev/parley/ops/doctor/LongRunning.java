package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;

/**
 * runtime.long_running: a query running longer than the query limit (a minute by default, as PgHero),
 * or a transaction open longer than the transaction limit (ten minutes) while it works. Both hold
 * locks and a snapshot that stops VACUUM cluster-wide. Sessions waiting on a lock are left to
 * runtime.lock_waits, idle ones to runtime.idle_in_transaction.
 */
final class LongRunning implements Check {
    private static final Query LONG = new Query("doctor.long_running", """
            SELECT pid, usename, datname, application_name,
                   extract(epoch FROM now() - query_start) AS query_seconds,
                   extract(epoch FROM now() - xact_start) AS transaction_seconds,
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query
              FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()
               AND wait_event_type IS DISTINCT FROM 'Lock'
               AND (now() - query_start >= make_interval(secs => ?) OR now() - xact_start >= make_interval(secs => ?))
             ORDER BY xact_start""");

    @Override
    public String id() {
        return "runtime.long_running";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        double queryLimit = inspection.limits().query().toMillis() / 1000.0;
        double transactionLimit = inspection.limits().transaction().toMillis() / 1000.0;
        return inspection.list(LONG, row -> {
            int pid = row.getInt("pid");
            double querySeconds = row.getDouble("query_seconds");
            boolean longQuery = querySeconds >= queryLimit;
            String who = row.getString("usename") + "@" + row.getString("datname");
            return new Finding(id(), Severity.WARNING, "pid " + pid,
                    (longQuery ? "a query of session " + pid + " (" + who + ") has run for " + Pretty.seconds(querySeconds)
                            : "session " + pid + " (" + who + ") has kept a transaction open for "
                                    + Pretty.seconds(row.getDouble("transaction_seconds")))
                            + ": it holds locks and a snapshot that keeps VACUUM from cleaning up",
                    new Evidence().with("pid", pid).with("user", row.getString("usename"))
                            .with("database", row.getString("datname"))
                            .with("application", row.getString("application_name"))
                            .with("query_seconds", Math.round(querySeconds))
                            .with("transaction_seconds", Math.round(row.getDouble("transaction_seconds")))
                            .with("query", row.getString("query")),
                    Fix.manual(longQuery ? "SELECT pg_cancel_backend(" + pid + ");" : "SELECT pg_terminate_backend(" + pid + ");",
                            "-- and cap statements for that role: ALTER ROLE " + Sql.ident(row.getString("usename"))
                                    + " SET statement_timeout = '" + Math.max(1, (long) queryLimit) + "s';"));
        }, queryLimit, transactionLimit);
    }
}
