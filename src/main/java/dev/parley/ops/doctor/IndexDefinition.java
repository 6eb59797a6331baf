package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One index as the catalog defines it: access method, key columns (attribute numbers, 0 for an
 * expression) with their operator classes, collations and sort options (one each per key column,
 * as pg_index keeps them), INCLUDE columns, expressions
 * and predicate, and what depends on it. Duplicate detection and the workload checks compare these.
 */
record IndexDefinition(long oid, long tableOid, String name, String table, String method, List<Integer> keys,
                       List<Integer> included, List<Long> opclasses, List<String> opclassNames, List<Long> collations,
                       List<Integer> options, String expressions, String predicate, boolean unique, boolean primary,
                       boolean replicaIdentity, boolean backsConstraint, boolean partitioned, boolean attached,
                       boolean valid, long bytes, String definition) {

    private static final Query ALL = new Query("doctor.indexes", """
            SELECT i.indexrelid::bigint AS oid, i.indrelid::bigint AS table_oid,
                   format('%I.%I', n.nspname, ic.relname) AS name, format('%I.%I', n.nspname, t.relname) AS table_name,
                   am.amname AS method, i.indnkeyatts AS key_count,
                   i.indkey::int2[] AS columns, i.indclass::oid[] AS opclasses,
                   ARRAY(SELECT oc.opcname::text FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS k(opc, ord)
                           JOIN pg_opclass oc ON oc.oid = k.opc ORDER BY k.ord) AS opclass_names,
                   i.indcollation::oid[] AS collations, i.indoption::int2[] AS options,
                   pg_get_expr(i.indexprs, i.indrelid) AS expressions, pg_get_expr(i.indpred, i.indrelid) AS predicate,
                   i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisreplident AS replica_identity,
                   EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AS backs_constraint,
                   ic.relkind = 'I' AS partitioned, ic.relispartition AS attached, i.indisvalid AND i.indisready AS valid,
                   CASE WHEN ic.relkind = 'I'
                        THEN (SELECT coalesce(sum(pg_relation_size(p.relid)), 0) FROM pg_partition_tree(i.indexrelid) p)
                        ELSE pg_relation_size(i.indexrelid) END AS bytes,
                   pg_get_indexdef(i.indexrelid) AS definition
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
              JOIN pg_am am ON am.oid = ic.relam
             WHERE i.indislive
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
             ORDER BY t.oid, ic.relname""");

    static List<IndexDefinition> read(Inspection inspection) throws SQLException {
        return inspection.list(ALL, IndexDefinition::map);
    }

    private static IndexDefinition map(ResultSet row) throws SQLException {
        List<Integer> columns = ints(row.getArray("columns"));
        int keyCount = row.getInt("key_count");
        List<String> opclassNames = Arrays.stream((Object[]) row.getArray("opclass_names").getArray())
                .map(String.class::cast).toList();
        return new IndexDefinition(row.getLong("oid"), row.getLong("table_oid"), row.getString("name"),
                row.getString("table_name"), row.getString("method"), columns.subList(0, keyCount),
                columns.subList(keyCount, columns.size()), longs(row.getArray("opclasses")), opclassNames,
                longs(row.getArray("collations")), ints(row.getArray("options")), row.getString("expressions"),
                row.getString("predicate"), row.getBoolean("is_unique"), row.getBoolean("is_primary"),
                row.getBoolean("replica_identity"), row.getBoolean("backs_constraint"), row.getBoolean("partitioned"),
                row.getBoolean("attached"), row.getBoolean("valid"), row.getLong("bytes"), row.getString("definition"));
    }

    private static List<Integer> ints(Array array) throws SQLException {
        return Arrays.stream((Object[]) array.getArray()).map(v -> ((Number) v).intValue()).toList();
    }

    private static List<Long> longs(Array array) throws SQLException {
        return Arrays.stream((Object[]) array.getArray()).map(v -> ((Number) v).longValue()).toList();
    }

    /** Can be dropped on its own: backs no constraint, is no replica identity, is not one partition's piece of a parent index. */
    boolean droppable() {
        return !backsConstraint && !replicaIdentity && !attached && !primary;
    }

    /** Same table, access method, expressions and predicate: the precondition for one to stand in for the other. */
    boolean comparableTo(IndexDefinition other) {
        return tableOid == other.tableOid && method.equals(other.method)
                && Objects.equals(expressions, other.expressions) && Objects.equals(predicate, other.predicate);
    }

    /** The same key columns, in the same order, with the same operator classes, collations and sort options. */
    boolean sameKeysAs(IndexDefinition other) {
        return keys.equals(other.keys) && opclasses.equals(other.opclasses)
                && collations.equals(other.collations) && options.equals(other.options);
    }

    /** Its key columns are the leading key columns of {@code other}, compared column by column. */
    boolean keysArePrefixOf(IndexDefinition other) {
        int n = keys.size();
        return n < other.keys.size() && keys.equals(other.keys.subList(0, n))
                && opclasses.equals(other.opclasses.subList(0, n))
                && collations.subList(0, n).equals(other.collations.subList(0, n))
                && options.equals(other.options.subList(0, n));
    }

    /** Every INCLUDE column of this index is somewhere in {@code other}. */
    boolean includedCoveredBy(IndexDefinition other) {
        return included.stream().allMatch(c -> other.keys.contains(c) || other.included.contains(c));
    }

    /** Whether attribute {@code attnum} is a key column using operator class {@code opclass} (any, when null). */
    boolean hasKey(int attnum, String opclass) {
        for (int i = 0; i < keys.size(); i++) {
            if (keys.get(i) == attnum && (opclass == null || opclassNames.get(i).equals(opclass))) {
                return true;
            }
        }
        return false;
    }

    int leadingKey() {
        return keys.isEmpty() ? 0 : keys.get(0);
    }
}
