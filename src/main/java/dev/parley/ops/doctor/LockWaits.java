package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * runtime.lock_waits: a session waiting for a lock longer than the lock-wait limit (ten seconds by
 * default), with who blocks whom: its direct blockers and, following the chain, the session at the head
 * of it that nobody blocks, which is the one to end. Needs PostgreSQL's pg_locks.waitstart (14+).
 */
final class LockWaits implements Check {
    private static final Query WAITING = new Query("doctor.lock_waits", """
            SELECT a.pid, a.usename, a.datname, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200) AS query,
                   extract(epoch FROM now() - coalesce(l.waitstart, now())) AS waited_seconds,
                   l.locktype, l.mode,
                   -- a row lock wait is a wait on the holder's transaction id: name the tables the waiter is writing
                   coalesce(CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text END,
                            (SELECT string_agg(DISTINCT format('%I.%I', n.nspname, c.relname), ', ')
                               FROM pg_locks t JOIN pg_class c ON c.oid = t.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                              WHERE t.pid = a.pid AND t.granted AND t.locktype = 'relation' AND c.relkind IN ('r', 'p', 'm'))) AS relation,
                   pg_blocking_pids(a.pid) AS blockers
              FROM pg_stat_activity a
              JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
             WHERE a.pid <> pg_backend_pid()
             ORDER BY l.waitstart""");

    private static final Query SESSIONS = new Query("doctor.lock_blockers", """
            SELECT pid, usename, datname, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query,
                   extract(epoch FROM now() - xact_start) AS transaction_seconds
              FROM pg_stat_activity
             WHERE pid = ANY (?)""");

    @Override
    public String id() {
        return "runtime.lock_waits";
    }

    private record Waiter(int pid, String user, String database, String query, double waited, String lockType,
                          String mode, String relation, List<Integer> blockers) {
    }

    private record Session(int pid, String user, String database, String state, String query, double transactionSeconds) {
        String describe() {
            return "pid " + pid + " (" + user + "@" + database + ", " + state + ", transaction open "
                    + Pretty.seconds(transactionSeconds) + "): " + query;
        }
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        List<Waiter> waiters = inspection.list(WAITING, row -> new Waiter(row.getInt("pid"), row.getString("usename"),
                row.getString("datname"), row.getString("query"), row.getDouble("waited_seconds"),
                row.getString("locktype"), row.getString("mode"), row.getString("relation"),
                Arrays.stream((Integer[]) row.getArray("blockers").getArray()).toList()));
        if (waiters.isEmpty()) {
            return List.of();
        }
        Map<Integer, List<Integer>> blockedBy = new HashMap<>();
        waiters.forEach(w -> blockedBy.merge(w.pid(), w.blockers(), (a, b) -> {
            var all = new ArrayList<>(a);
            all.addAll(b);
            return all;
        }));
        Set<Integer> involved = new LinkedHashSet<>(blockedBy.keySet());
        blockedBy.values().forEach(involved::addAll);
        Map<Integer, Session> sessions = new HashMap<>();
        for (Session s : inspection.list(SESSIONS, row -> new Session(row.getInt("pid"), row.getString("usename"),
                row.getString("datname"), row.getString("state"), row.getString("query"),
                row.getDouble("transaction_seconds")), inspection.handle().array("integer", involved.toArray()))) {
            sessions.put(s.pid(), s);
        }
        double limit = inspection.limits().lockWait().toMillis() / 1000.0;
        List<Finding> findings = new ArrayList<>();
        Set<Integer> reported = new LinkedHashSet<>();
        for (Waiter w : waiters) {
            if (w.waited() >= limit && reported.add(w.pid())) {
                findings.add(finding(w, roots(w.pid(), blockedBy), sessions));
            }
        }
        return findings;
    }

    /** The sessions at the head of the chains blocking {@code pid}: blockers that wait for nobody. */
    private static Set<Integer> roots(int pid, Map<Integer, List<Integer>> blockedBy) {
        Set<Integer> roots = new LinkedHashSet<>();
        Set<Integer> seen = new LinkedHashSet<>();
        List<Integer> todo = new ArrayList<>(blockedBy.getOrDefault(pid, List.of()));
        while (!todo.isEmpty()) {
            int next = todo.remove(0);
            if (!seen.add(next)) {
                continue;
            }
            List<Integer> above = blockedBy.getOrDefault(next, List.of());
            if (above.isEmpty()) {
                roots.add(next);
            }
            todo.addAll(above);
        }
        return roots;
    }

    private Finding finding(Waiter w, Set<Integer> roots, Map<Integer, Session> sessions) {
        String what = w.mode() + " on " + (w.lockType().equals("relation") ? w.relation()
                : w.lockType() + (w.relation() != null ? " (rows of " + w.relation() + ")" : ""));
        List<String> blockers = w.blockers().stream().distinct()
                .map(pid -> sessions.containsKey(pid) ? sessions.get(pid).describe() : "pid " + pid).toList();
        List<String> fix = new ArrayList<>();
        roots.forEach(pid -> fix.add("SELECT pg_terminate_backend(" + pid + ");"));
        return new Finding(id(), Severity.WARNING, "pid " + w.pid(),
                "session " + w.pid() + " (" + w.user() + "@" + w.database() + ") has waited "
                        + Pretty.seconds(w.waited()) + " for " + what + ", blocked by pid(s) " + w.blockers()
                        + (roots.equals(new LinkedHashSet<>(w.blockers())) ? "" : "; the chain starts at pid(s) " + roots),
                new Evidence().with("pid", w.pid()).with("waited_seconds", Math.round(w.waited()))
                        .with("lock", what).with("query", w.query())
                        .with("blocked_by", blockers).with("head_of_chain", List.copyOf(roots)),
                Fix.manual(fix));
    }
}
