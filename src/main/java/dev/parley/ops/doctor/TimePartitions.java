package dev.parley.ops.doctor;

import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The range-partitioned tables whose single key is a date or timestamp, with their partitions' bounds
 * as instants, plus Parley's own {@code messages}, whose bigint key is a time-ordered id (bounds are
 * read with the same arithmetic Parley uses). Catch-all partitions are the DEFAULT partition and any
 * range open to MINVALUE or MAXVALUE (Parley's messages_before and messages_after): rows in them
 * are rows whose period has no partition of its own. Parley's archive ({@code parley_archive.messages}, months moved
 * out of the hot set, keyed the same way) is kept apart in {@link #archives()}: it takes no new rows, so only the
 * retention check judges it.
 */
final class TimePartitions {
    static final int MAX_BUCKETS = 120;

    private static final Query PARENTS = new Query("doctor.partitioned_tables", """
            SELECT p.oid::bigint AS oid, format('%I.%I', n.nspname, p.relname) AS parent,
                   n.nspname || '.' || p.relname AS plain_name, p.relname, n.nspname,
                   pt.partstrat::text AS strategy, pt.partnatts AS key_count,
                   quote_ident(a.attname) AS key_column, format_type(a.atttypid, NULL) AS key_type,
                   a.atttypid = 'int8'::regtype AND p.relname = 'messages' AND f.nspname IS NOT NULL AS parley,
                   n.nspname = 'parley_archive' AS archive, f.nspname AS id_time_schema
              FROM pg_partitioned_table pt
              JOIN pg_class p ON p.oid = pt.partrelid
              JOIN pg_namespace n ON n.oid = p.relnamespace
              LEFT JOIN pg_attribute a ON a.attrelid = p.oid AND a.attnum = pt.partattrs[0]
              -- Parley's id arithmetic: in the table's own schema, or for the archive in Parley's schema
              LEFT JOIN LATERAL (
                  SELECT s.nspname FROM pg_namespace s
                   WHERE (s.oid = n.oid OR n.nspname = 'parley_archive')
                     AND to_regprocedure(format('%I.parley_id_time(bigint)', s.nspname)) IS NOT NULL
                   ORDER BY s.oid = n.oid DESC, s.nspname = current_schema() DESC, s.nspname
                   LIMIT 1) f ON true
             WHERE NOT p.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             ORDER BY 2""");

    // Bounds come back as written by pg_get_expr ('2024-01-01 00:00:00+00', MINVALUE, 123); time ones are cast here.
    private static final NamedQuery CHILDREN = NamedQuery.of("doctor.partitions", RowEstimate.in("""
            SELECT name, relname, is_default, estimated_rows, bytes, readable, lower_text, upper_text,
                   CASE WHEN :castable AND lower_text NOT IN ('MINVALUE', 'MAXVALUE') THEN btrim(lower_text, '''')::timestamptz END AS lower_time,
                   CASE WHEN :castable AND upper_text NOT IN ('MINVALUE', 'MAXVALUE') THEN btrim(upper_text, '''')::timestamptz END AS upper_time
              FROM (SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relname, b.bound = 'DEFAULT' AS is_default,
                           (SELECT coalesce(sum(:rows(x)), 0)::bigint
                              FROM pg_partition_tree(c.oid) t JOIN pg_class x ON x.oid = t.relid WHERE t.isleaf) AS estimated_rows,
                           (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)
                              FROM pg_partition_tree(c.oid) t WHERE t.isleaf) AS bytes,
                           has_table_privilege(c.oid, 'SELECT') AS readable,
                           (regexp_match(b.bound, '^FOR VALUES FROM \\((.+)\\) TO \\((.+)\\)$'))[1] AS lower_text,
                           (regexp_match(b.bound, '^FOR VALUES FROM \\((.+)\\) TO \\((.+)\\)$'))[2] AS upper_text
                      FROM pg_inherits i
                      JOIN pg_class c ON c.oid = i.inhrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                      CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
                     WHERE i.inhparent = :parent_oid::oid) children
             ORDER BY lower_time NULLS FIRST, name""", "x"));

    /** A range-partitioned table keyed by time. {@code step} is the period of its partitions, when one is recognised. */
    record Parent(String name, String plainName, String relname, String schema, String keyColumn, String keyType,
                  boolean parley, String idTimeSchema, List<Child> children, Optional<Step> step) {
        List<Child> ranges() {
            return children.stream().filter(c -> !c.catchAll()).toList();
        }

        List<Child> catchAlls() {
            return children.stream().filter(Child::catchAll).toList();
        }

        Optional<Instant> coveredUntil() {
            return ranges().stream().map(Child::upper).max(Comparator.naturalOrder());
        }

        /** The key as a timestamptz expression, for date_trunc and comparisons. */
        String keyAsTime() {
            return parley ? Sql.ident(idTimeSchema) + ".parley_id_time(" + keyColumn + ")" : keyColumn + "::timestamptz";
        }

        /** A bound as a literal of the key's type. */
        String literal(Instant at) {
            ZonedDateTime t = at.atZone(ZoneOffset.UTC);
            return switch (keyType) {
                case "date" -> "'" + t.toLocalDate() + "'";
                case "timestamp without time zone" -> "'" + t.format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")) + "'";
                default -> "'" + t.format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ssx")) + "'";
            };
        }

        /** The name a new partition for the period starting at {@code lower} gets, following the existing names. */
        String partitionName(Instant lower) {
            ZonedDateTime t = lower.atZone(ZoneOffset.UTC);
            for (Child c : ranges().reversed()) {
                for (String pattern : NAME_PATTERNS) {
                    String suffix = c.lower().atZone(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern(pattern));
                    if (c.relname().endsWith(suffix) && c.relname().length() > suffix.length()) {
                        String prefix = c.relname().substring(0, c.relname().length() - suffix.length());
                        return Sql.ident(schema) + "." + Sql.ident(prefix + t.format(DateTimeFormatter.ofPattern(pattern)));
                    }
                }
            }
            return Sql.ident(schema) + "." + Sql.ident(relname + "_p" + t.format(DateTimeFormatter.ofPattern("yyyyMMdd")));
        }

        String createPartition(Instant lower, Instant upper) {
            return "CREATE TABLE IF NOT EXISTS " + partitionName(lower) + " PARTITION OF " + name
                    + " FOR VALUES FROM (" + literal(lower) + ") TO (" + literal(upper) + ");";
        }
    }

    private static final List<String> NAME_PATTERNS = List.of("yyyy_MM_dd", "yyyyMMdd", "yyyy_MM", "yyyyMM", "yyyy");

    /** One partition; {@code lower}/{@code upper} are null where the range is open (MINVALUE/MAXVALUE) or it is the DEFAULT. */
    record Child(String name, String relname, boolean isDefault, long estimatedRows, long bytes, boolean readable,
                 Instant lower, Instant upper) {
        boolean catchAll() {
            return isDefault || lower == null || upper == null;
        }

        String describe() {
            return isDefault ? "DEFAULT partition " + name : "catch-all partition " + name + " (FROM "
                    + (lower == null ? "MINVALUE" : lower.toString()) + " TO " + (upper == null ? "MAXVALUE" : upper.toString()) + ")";
        }
    }

    /** The period of a table's partitions: one day, week, month, quarter or year, or a fixed length. */
    record Step(long amount, ChronoUnit unit) {
        private static final List<Step> CALENDAR = List.of(new Step(1, ChronoUnit.DAYS), new Step(1, ChronoUnit.WEEKS),
                new Step(1, ChronoUnit.MONTHS), new Step(3, ChronoUnit.MONTHS), new Step(1, ChronoUnit.YEARS));

        static Step between(Instant lower, Instant upper) {
            ZonedDateTime from = lower.atZone(ZoneOffset.UTC);
            return CALENDAR.stream().filter(s -> from.plus(s.amount, s.unit).toInstant().equals(upper)).findFirst()
                    .orElse(new Step(upper.getEpochSecond() - lower.getEpochSecond(), ChronoUnit.SECONDS));
        }

        Instant after(Instant at) {
            return at.atZone(ZoneOffset.UTC).plus(amount, unit).toInstant();
        }

        /** The date_trunc field that yields this step's periods, when there is one. */
        Optional<String> truncField() {
            return Optional.ofNullable(amount == 1 ? switch (unit) {
                case DAYS -> "day";
                case WEEKS -> "week";
                case MONTHS -> "month";
                case YEARS -> "year";
                default -> null;
            } : amount == 3 && unit == ChronoUnit.MONTHS ? "quarter" : null);
        }

        @Override
        public String toString() {
            String name = unit.toString().toLowerCase(Locale.ROOT);
            return amount + " " + (amount == 1 ? name.substring(0, name.length() - 1) : name);
        }
    }

    private final List<Parent> parents;
    private final List<Parent> archives;

    private TimePartitions(List<Parent> parents, List<Parent> archives) {
        this.parents = parents;
        this.archives = archives;
    }

    /** The tables that take new rows. */
    List<Parent> parents() {
        return parents;
    }

    /** Parley's archive of months past the hot set, when there is one. */
    List<Parent> archives() {
        return archives;
    }

    static TimePartitions read(Inspection inspection) throws SQLException {
        record Row(long oid, String name, String plainName, String relname, String schema, String strategy, int keys,
                   String keyColumn, String keyType, boolean parley, boolean archive, String idTimeSchema) {
            boolean timeKeyed() {
                return strategy.equals("r") && keys == 1 && keyColumn != null
                        && (parley || List.of("date", "timestamp without time zone", "timestamp with time zone").contains(keyType));
            }
        }
        List<Parent> parents = new ArrayList<>();
        List<Parent> archives = new ArrayList<>();
        for (Row p : inspection.list(PARENTS, row -> new Row(row.getLong("oid"), row.getString("parent"),
                row.getString("plain_name"), row.getString("relname"), row.getString("nspname"), row.getString("strategy"),
                row.getInt("key_count"), row.getString("key_column"), row.getString("key_type"), row.getBoolean("parley"),
                row.getBoolean("archive"), row.getString("id_time_schema")))) {
            if (!p.timeKeyed()) {
                continue;
            }
            boolean castable = !p.parley();
            List<Child> children = inspection.list(CHILDREN.bind("castable", castable).bind("parent_oid", p.oid()),
                    row -> new Child(row.getString("name"), row.getString("relname"),
                            row.getBoolean("is_default"), row.getLong("estimated_rows"),
                            row.getLong("bytes"), row.getBoolean("readable"),
                            bound(p.parley(), row.getString("lower_text"), row.getTimestamp("lower_time")),
                            bound(p.parley(), row.getString("upper_text"), row.getTimestamp("upper_time"))));
            Optional<Step> step = children.stream().filter(c -> !c.catchAll()).reduce((a, b) -> b)
                    .map(last -> Step.between(last.lower(), last.upper()));
            Parent parent = new Parent(p.name(), p.plainName(), p.relname(), p.schema(), p.keyColumn(), p.keyType(), p.parley(),
                    p.idTimeSchema(), children, step);
            (p.parley() && p.archive() ? archives : parents).add(parent);
        }
        return new TimePartitions(parents, archives);
    }

    private static Instant bound(boolean parley, String text, Timestamp time) {
        if (text == null || text.equals("MINVALUE") || text.equals("MAXVALUE")) {
            return null;
        }
        return parley ? Ids.timeOf(Long.parseLong(text.replace("'", ""))) : time.toInstant();
    }

    /** How many rows a catch-all holds: counted up to a cap when this role may read it, else the statistics' estimate. */
    static long rowsIn(Inspection inspection, Child child, long cap) throws SQLException {
        if (!child.readable()) {
            inspection.limit("no SELECT on " + child.name() + ": its row count is the statistics' estimate");
            return child.estimatedRows();
        }
        return inspection.one(new Query("doctor.catch_all_rows", "SELECT count(*) FROM (SELECT 1 FROM " + child.name()
                + " LIMIT " + cap + ") rows"), row -> row.getLong(1));
    }

    /** The starts of the periods that have rows in a catch-all partition, oldest first, at most {@value #MAX_BUCKETS}. */
    static List<Instant> periodsWithRows(Inspection inspection, Parent parent, Child child, String truncField) throws SQLException {
        return inspection.list(new Query("doctor.catch_all_periods", "SELECT DISTINCT date_trunc('" + truncField + "', "
                + parent.keyAsTime() + ") AS period FROM " + child.name() + " ORDER BY 1 LIMIT " + MAX_BUCKETS),
                row -> row.getTimestamp(1).toInstant());
    }
}
