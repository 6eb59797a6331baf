package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;

/**
 * runtime.idle_in_transaction: a session that opened a transaction and then went quiet. It keeps its
 * locks (blocking DDL, and writes to the same rows) and its snapshot, which stops VACUUM from removing
 * any row that died after it began, in every table of the cluster. Usually an application that forgot a
 * commit on an error path, or held a transaction open across a network call.
 */
final class IdleInTransaction implements Check {
    private static final Query IDLE = new Query("doctor.idle_in_transaction", """
            SELECT pid, usename, datname, application_name, state,
                   extract(epoch FROM now() - state_change) AS idle_seconds,
                   extract(epoch FROM now() - xact_start) AS transaction_seconds,
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS last_query
              FROM pg_stat_activity
             WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') AND pid <> pg_backend_pid()
               AND now() - state_change >= make_interval(secs => ?)
             ORDER BY state_change""");

    @Override
    public String id() {
        return "runtime.idle_in_transaction";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        double limit = inspection.limits().idleInTransaction().toMillis() / 1000.0;
        return inspection.list(IDLE, row -> {
            int pid = row.getInt("pid");
            String who = row.getString("usename") + "@" + row.getString("datname");
            return new Finding(id(), Severity.WARNING, "pid " + pid,
                    "session " + pid + " (" + who + ", " + row.getString("application_name") + ") has been "
                            + row.getString("state") + " for " + Pretty.seconds(row.getDouble("idle_seconds"))
                            + ": it holds its locks and keeps VACUUM from removing rows that died since its transaction began",
                    new Evidence().with("pid", pid).with("user", row.getString("usename"))
                            .with("database", row.getString("datname"))
                            .with("application", row.getString("application_name"))
                            .with("idle_seconds", Math.round(row.getDouble("idle_seconds")))
                            .with("transaction_seconds", Math.round(row.getDouble("transaction_seconds")))
                            .with("last_query", row.getString("last_query")),
                    Fix.manual("SELECT pg_terminate_backend(" + pid + ");",
                            "-- and let the server end such sessions itself: ALTER ROLE " + Sql.ident(row.getString("usename"))
                                    + " SET idle_in_transaction_session_timeout = '5min';"));
        }, limit);
    }
}
