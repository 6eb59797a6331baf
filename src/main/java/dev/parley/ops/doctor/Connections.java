package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * runtime.connections: client connections against what max_connections leaves after the reserved
 * slots. Past 80% a traffic spike or a pool misconfiguration turns into "too many clients" errors;
 * past 95% that is imminent. The evidence says who holds the connections and how many are idle.
 */
final class Connections implements Check {
    static final double WARNING = 0.8;
    static final double CRITICAL = 0.95;

    private static final Query USAGE = new Query("doctor.connections", """
            SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS clients,
                   count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active') AS active,
                   count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'idle') AS idle,
                   count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction,
                   current_setting('max_connections')::int AS max_connections,
                   current_setting('superuser_reserved_connections')::int
                       + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
                   (SELECT string_agg(format('%s@%s (%s): %s', u, d, a, n), ', ')
                      FROM (SELECT usename AS u, datname AS d, application_name AS a, count(*) AS n
                              FROM pg_stat_activity WHERE backend_type = 'client backend'
                             GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 5) top) AS top_holders
              FROM pg_stat_activity""");

    @Override
    public String id() {
        return "runtime.connections";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.one(USAGE, row -> {
            long clients = row.getLong("clients");
            long usable = row.getLong("max_connections") - row.getLong("reserved");
            double used = (double) clients / Math.max(1, usable);
            if (used < WARNING) {
                return Optional.<Finding>empty();
            }
            long idle = row.getLong("idle");
            return Optional.of(new Finding(id(), used >= CRITICAL ? Severity.CRITICAL : Severity.WARNING, "server",
                    clients + " of " + usable + " usable connections are taken (" + Pretty.percent(used) + "), "
                            + idle + " of them idle: pool them (PgBouncer in transaction mode) or shrink the applications' pools",
                    new Evidence().with("client_connections", clients).with("usable_connections", usable)
                            .with("max_connections", row.getLong("max_connections"))
                            .with("active", row.getLong("active")).with("idle", idle)
                            .with("idle_in_transaction", row.getLong("idle_in_transaction"))
                            .with("top_holders", row.getString("top_holders")),
                    Fix.manual("-- close connections idle for more than 10 minutes (applications' pools reconnect):",
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                    + "AND state = 'idle' AND state_change < now() - interval '10 minutes';")));
        }).stream().toList();
    }
}
