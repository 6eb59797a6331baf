package dev.parley.ops.doctor;

import dev.parley.db.Handle;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import java.sql.SQLException;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a check works with: the connection, the server facts, the limits it was given, and the
 * analyses several checks share (the workload's plans, the time-partitioned tables), made once.
 * A check records here what it could not see, so the report can say which results are partial.
 */
final class Inspection {
    private final Handle handle;
    private final Server server;
    private final Optional<Machine> machine;
    private final SessionLimits limits;
    private final Optional<Period> retention;
    private final List<Note> limited = new ArrayList<>();
    private String current = "";
    private Workload workload;
    private Skipped workloadUnavailable;
    private TimePartitions partitions;
    private List<IndexDefinition> indexes;

    Inspection(Handle handle, Server server, Optional<Machine> machine, SessionLimits limits, Optional<Period> retention) {
        this.handle = handle;
        this.server = server;
        this.machine = machine;
        this.limits = limits;
        this.retention = retention;
    }

    Server server() {
        return server;
    }

    Optional<Machine> machine() {
        return machine;
    }

    SessionLimits limits() {
        return limits;
    }

    /** The cut-off --retention gives: partitions wholly older than this are past retention. */
    Optional<Instant> retentionCutoff() {
        return retention.map(p -> server.now().atZone(ZoneOffset.UTC).minus(p).toInstant());
    }

    Handle handle() {
        return handle;
    }

    <T> List<T> list(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return handle.list(query, mapper, args);
    }

    <T> List<T> list(NamedQuery.Binding bound, RowMapper<T> mapper) throws SQLException {
        return handle.list(bound, mapper);
    }

    <T> T one(Query query, RowMapper<T> mapper, Object... args) throws SQLException {
        return handle.first(query, mapper, args).orElseThrow(() -> new IllegalStateException(query.name() + " returned no row"));
    }

    /** Says that the running check's result is partial, and why. */
    void limit(String reason) {
        Note note = new Note(current, reason);
        if (!limited.contains(note)) {
            limited.add(note);
        }
    }

    List<Note> limited() {
        return List.copyOf(limited);
    }

    void running(String checkId) {
        current = checkId;
    }

    /** The statements of pg_stat_statements with their generic plans, read on first use by any check. */
    Workload workload() throws SQLException, Skipped {
        if (workloadUnavailable != null) {
            throw workloadUnavailable;
        }
        if (workload == null) {
            try {
                workload = Workload.read(this);
            } catch (Skipped e) {
                workloadUnavailable = e;
                throw e;
            }
        }
        return workload;
    }

    List<IndexDefinition> indexes() throws SQLException {
        if (indexes == null) {
            indexes = IndexDefinition.read(this);
        }
        return indexes;
    }

    TimePartitions partitions() throws SQLException {
        if (partitions == null) {
            partitions = TimePartitions.read(this);
        }
        return partitions;
    }
}
