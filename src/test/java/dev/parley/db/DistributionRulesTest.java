package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.lifecycle.Archive;
import dev.parley.support.TestDatabase;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Period;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rules a distributed PostgreSQL (Citus, distributing by app_id) needs, held today on one server
 * so that no migration or query drifts from them (docs/scaling.md): every table with app_id keeps it
 * in its primary key, its unique keys and its foreign keys; every other table is named here as a
 * reference or local table, with why; and no statement joins across apps.
 *
 * <p>The schema checked is the production migrations' with monthly partitions cut and one month
 * archived, so hot partitions and archived ones are checked themselves, not only through their parents.
 */
class DistributionRulesTest {
    /**
     * Copied to every node (Citus reference tables): small, and read where the app is not known yet.
     * Distributed tables may hold foreign keys to them; they may hold none to a distributed table.
     */
    static final Map<String, String> REFERENCE_TABLES = Map.of(
            "public.apps", "the tenant table itself: one row per app, referenced by every distributed table's app_id,"
                    + " unique by name across apps",
            "public.api_keys", "resolved by key hash on a request before its app is known (api_key.resolve): a copy on"
                    + " every node answers without asking every shard; a few rows per app, written when a key is made or revoked");

    private static final String ARCHIVED_COUNTS = "an archived month's counts per app, which the analytics views add"
            + " up: beside the views, which live on the coordinator";

    /** Kept on the coordinator only (Citus local tables): bookkeeping of the one database, and the analytics' counts. */
    static final Map<String, String> LOCAL_TABLES = Map.of(
            "public.analytics_refresh", "one row: when the analytics views were last refreshed, by whichever instance",
            "public.parley_deployment", "one row: the random id made when the database was migrated (V42), which names it"
                    + " in Redis keys where the server hides its identifier",
            "public.counter_flushes", "each instance's counter flush tokens, looked up when a flush's COMMIT lost its"
                    + " connection; bookkeeping of the one database, a day's worth",
            "public.partition_moves", "the partition moves under way (archive, retention): operator bookkeeping,"
                    + " one row per move and none most of the time",
            "public.partition_gaps", "the ranges of message ids no month's partition takes because no row is in them"
                    + " (V37): the partition layout's bookkeeping, a few rows for the whole database",
            "public.analytics_archived_months", ARCHIVED_COUNTS,
            "public.analytics_archived_character_days", ARCHIVED_COUNTS,
            "public.analytics_archived_active_days", ARCHIVED_COUNTS,
            "public.analytics_archived_active_months", ARCHIVED_COUNTS,
            "public.analytics_archived_conversation_roles", ARCHIVED_COUNTS);

    /**
     * Statements that reach every app on purpose, by name, with why: operator work over the whole database,
     * never a request's. Those that name no distributed table need no entry: over reference or local tables
     * (app.list, retention.policies, partition bookkeeping) or the catalogs alone (doctor, monitor).
     */
    static final Map<String, String> CROSS_TENANT_QUERIES = Map.of(
            "idempotency.purge_expired", "daily maintenance drops every app's idempotency keys past their 7 days, in"
                    + " batches by ctid; ctids are per shard, so on Citus it must select keys, not ctids (docs/scaling.md)");

    /**
     * Statements that keep to one app without an app_id condition, by name, with why. Search scopes its
     * matches by a token in the words index ('~a:app', '~u:user', '~c:conversation'; user and conversation
     * ids are unique across apps), the index's only condition (SearchPlanTest). An added m.app_id = ? was
     * measured on SearchPlanTest's 150,000 messages with statistics set to 500 apps: the generic plan ANDed
     * the words index with messages_app_time_idx, reading all 22,000-26,000 of the app's entries in each
     * partition for a word with no match. On Citus these would run on every shard (docs/scaling.md).
     */
    static final Map<String, String> SCOPED_WITHOUT_APP_ID = Map.of(
            "search.messages_app", "the app's token '~a:app' in the words",
            "search.messages_app_recent", "the app's token '~a:app' in the words",
            "search.messages_user", "the user's token '~u:user' in the words",
            "search.messages_user_recent", "the user's token '~u:user' in the words",
            "search.messages_conversation", "the conversation's token '~c:conversation' in the words",
            "search.messages_conversation_recent", "the conversation's token '~c:conversation' in the words",
            "search.memories", "the user's token '~u:user' (and the character's '~h:character') in the words, the token"
                    + " null unless the users row (app_id, user_id) exists; an app_id = ? on memories would offer"
                    + " memories_scope_idx (app_id, …) to a generic plan (not measured for memories)",
            "search.memories_recent", "as search.memories, latest created_at first",
            "search.memories_each", "as search.memories, with any of the people's tokens: they are the members and authors"
                    + " of one of the app's conversations");

    /**
     * Files that build statements per call (their SQL depends on arguments), which reflection over constants
     * cannot read: how many such sites each has, and how each keeps to one app or why it need not. A new
     * site fails the test until someone has read its SQL and counted it here.
     */
    static final Map<String, PerCall> BUILT_PER_CALL = Map.ofEntries(
            Map.entry("analytics/AnalyticsRefresh.java", new PerCall(1, "REFRESH MATERIALIZED VIEW CONCURRENTLY: every"
                    + " app's rows of a view, by design; on Citus the views live on the coordinator")),
            Map.entry("bench/ArchivedMonths.java", new PerCall(6, "a fresh dataset's archived months: their partitions"
                    + " and words indexes made, the hot months they replace checked empty and dropped; every app's rows,"
                    + " by design")),
            Map.entry("bench/BenchCommand.java", new PerCall(2, "bench.app reads apps (a reference table) by name;"
                    + " bench.message_estimate reads pg_class")),
            Map.entry("bench/DatasetLoader.java", new PerCall(1, "VACUUM (ANALYZE) of the loaded tables")),
            Map.entry("bench/Machine.java", new PerCall(1, "SHOW server_version")),
            Map.entry("chat/Characters.java", new PerCall(1, "list(): builds the character.list* constants, which"
                    + " reflection checks")),
            Map.entry("chat/ConversationFilter.java", new PerCall(2, "conversation.list*: its WHERE starts with"
                    + " c.app_id = ?, and the member filter's subquery equates m.app_id = c.app_id; a user's list adds"
                    + " a branch of their groups, g.app_id = ? with c joined on c.app_id = g.app_id")),
            Map.entry("chat/MessageLog.java", new PerCall(2, "message.history_filtered and"
                    + " message.history_filtered_archived: app_id = ? and the conversation; message.history_by_metadata:"
                    + " the conversation id inside parley_message_facets (unique across apps) in a MATERIALIZED CTE"
                    + " joined to the asked app after, so on Citus the CTE runs on every shard, as search does")),
            Map.entry("chat/Stats.java", new PerCall(2, "stats.estimate_rows and stats.count_small: app_id of the app,"
                    + " over a table of a fixed list or a month partition a catalogue lookup named; without app_id, a month's"
                    + " rows of every app, for the app's share of its bytes, the count capped by LIMIT")),
            Map.entry("db/Query.java", new PerCall(1, "<path>.generic_plans: set_config of the transaction, no table")),
            Map.entry("db/NamedQuery.java", new PerCall(1, "of(): the Query of a statement with named values, built once"
                    + " for a constant, which reflection checks")),
            Map.entry("db/Partitions.java", new PerCall(13, "partition DDL (create, attach, detach, set schema), a"
                    + " catch-all's rows moved into their new month, the months a catch-all holds rows of (partitions"
                    + " --ensure), and the count of a month never analysed (parley partitions): every app's rows of a"
                    + " month, by design")),
            Map.entry("db/WordIndexes.java", new PerCall(4, "ALTER INDEX and gin_clean_pending_list, at a bulk import and"
                    + " when putting back what an interrupted one left: whole indexes")),
            Map.entry("lifecycle/Archive.java", new PerCall(8, "a month moved into the archive: DDL and a copy of the"
                    + " whole partition, every app's rows, by design")),
            Map.entry("lifecycle/Retention.java", new PerCall(7, "a month past every app's retention: which apps it"
                    + " holds, its conversations recounted, its keys and the month dropped; every app's, by design")),
            Map.entry("memory/Memories.java", new PerCall(1, "memory.list*: app_id = ? AND user_id = ? AND"
                    + " character_id = ? in every order")),
            Map.entry("monitor/DatabaseStats.java", new PerCall(1, "monitor.top_statements: pg_stat_statements")),
            Map.entry("ops/Maintenance.java", new PerCall(1, "ANALYZE of a partitioned table found due: every app's"
                    + " rows, by design")),
            Map.entry("ops/doctor/Hypothetical.java", new PerCall(2, "hypopg's functions, in the schema found")),
            Map.entry("ops/doctor/PartitionRetention.java", new PerCall(1, "pg_partman's configuration")),
            Map.entry("ops/doctor/TimePartitions.java", new PerCall(2, "the rows of any database's catch-all"
                    + " partition, counted and dated: every tenant's, by design")),
            Map.entry("ops/doctor/Workload.java", new PerCall(2, "pg_stat_statements, in the schema found")));

    record PerCall(int sites, String why) {
    }

    private static final String DATABASE = "parley_distribution_rules";
    private static Database database;
    private static Schema schema;

    @BeforeAll
    static void migrateCutAndArchive() {
        database = TestDatabase.pool(TestDatabase.get().migrated(DATABASE), 2);
        var partitions = new Partitions(database);
        YearMonth now = YearMonth.from(Ids.timeOf(partitions.list().stream()
                .filter(p -> p.name().equals(Partitions.AFTER)).findFirst().orElseThrow().fromId()).atZone(ZoneOffset.UTC));
        partitions.ensure(now.minusMonths(3), now.plusMonths(2));
        Clock clock = Clock.fixed(now.atDay(15).atStartOfDay().toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        new Archive(database, database, partitions, clock).archiveOlderThan(Period.ofMonths(2));
        schema = database.read(Schema::read);
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void the_schema_checked_includes_monthly_partitions_and_archived_months() {
        assertThat(schema.relations()).anySatisfy(r -> {
            assertThat(r.root()).isEqualTo("public.messages");
            assertThat(r.name()).matches("public\\.messages_y\\d{4}m\\d{2}");
        }).anySatisfy(r -> {
            assertThat(r.root()).isEqualTo("parley_archive.messages");
            assertThat(r.name()).matches("parley_archive\\.messages_y\\d{4}m\\d{2}");
        });
    }

    @Test
    void every_key_of_a_table_with_app_id_includes_app_id_and_every_other_table_is_named_with_a_reason() {
        assertThat(violations(schema)).as("distribution rules, docs/scaling.md").isEmpty();
    }

    @Test
    void a_key_or_foreign_key_without_app_id_and_an_unnamed_table_are_reported_by_name() throws SQLException {
        String partition = "public." + Partitions.AFTER;
        try (Database broken = TestDatabase.pool(TestDatabase.get().migrated(DATABASE + "_broken"), 1)) {
            broken.read(handle -> {
                handle.execute(new Query("test.unnamed_table", "CREATE TABLE languages (code text PRIMARY KEY)"));
                handle.execute(new Query("test.unique_without_app_id", "CREATE UNIQUE INDEX users_lower_external_id ON users (lower(external_id))"));
                handle.execute(new Query("test.partition_key", "CREATE UNIQUE INDEX partition_message_id ON " + partition
                        + " (message_id)"));
                handle.execute(new Query("test.id_alone", "CREATE UNIQUE INDEX conversations_id_alone ON conversations (conversation_id)"));
                handle.execute(new Query("test.foreign_key_without_app_id", "ALTER TABLE memories ADD CONSTRAINT memories_conversation"
                        + " FOREIGN KEY (conversation_id) REFERENCES conversations (conversation_id)"));
                handle.execute(new Query("test.reference_to_distributed",
                        "ALTER TABLE api_keys ADD COLUMN user_id bigint, ADD CONSTRAINT api_keys_user FOREIGN KEY (app_id, user_id) REFERENCES users"));
                return null;
            });
            List<String> found = violations(broken.read(Schema::read));

            assertThat(found).hasSize(6).anySatisfy(v -> assertThat(v).startsWith("public.languages has no app_id"))
                    .anySatisfy(v -> assertThat(v).startsWith("public.users: unique index users_lower_external_id [(expression)] lacks app_id"))
                    .anySatisfy(v -> assertThat(v).startsWith(partition + ": unique index partition_message_id [message_id] lacks app_id"))
                    .anySatisfy(v -> assertThat(v).startsWith("public.conversations: unique index conversations_id_alone"))
                    .anySatisfy(v -> assertThat(v).startsWith("public.memories: foreign key memories_conversation [conversation_id]"
                            + " -> public.conversations [conversation_id] does not pair app_id with app_id"))
                    .anySatisfy(v -> assertThat(v).startsWith("public.api_keys: foreign key api_keys_user [app_id, user_id] -> public.users"));
        }
    }

    @Test
    void no_statement_reaches_across_apps_except_the_named_ones() throws Exception {
        Set<String> distributed = schema.distributedTableNames();
        Map<String, String> broken = new TreeMap<>();
        Set<String> names = new TreeSet<>();
        for (Query query : QueryConstants.all()) {
            names.add(query.name());
            if (CROSS_TENANT_QUERIES.containsKey(query.name()) || SCOPED_WITHOUT_APP_ID.containsKey(query.name())) {
                continue;
            }
            CrossTenantCheck.problem(query.sql(), distributed).ifPresent(why -> broken.put(query.name(), why + "\n    " + query.sql()));
        }
        assertThat(names).as("constants found by reflection").hasSizeGreaterThan(150);
        assertThat(broken).as("statements that may reach several apps: add app_id, or name them in CROSS_TENANT_QUERIES").isEmpty();
        assertThat(union(CROSS_TENANT_QUERIES.keySet(), SCOPED_WITHOUT_APP_ID.keySet())).as("allowed statements that no longer exist")
                .isSubsetOf(names);
    }

    @Test
    void statements_built_per_call_are_counted_and_explained() throws IOException {
        Map<String, Integer> found = QueryConstants.builtPerCall(Path.of("src/main/java"));
        Map<String, Integer> listed = new TreeMap<>();
        BUILT_PER_CALL.forEach((file, perCall) -> listed.put(file, perCall.sites()));
        assertThat(found).as("files that build statements per call, and how many: read the new SQL, then update BUILT_PER_CALL")
                .isEqualTo(listed);
    }

    /** Every way {@code schema} breaks the rules, each naming its table, constraint and columns. */
    static List<String> violations(Schema schema) {
        List<String> broken = new ArrayList<>();
        Set<String> roots = new TreeSet<>();
        for (Relation relation : schema.relations()) {
            roots.add(relation.root());
            Kind kind = kindOf(relation.root());
            if (kind == Kind.DISTRIBUTED && relation.appIdType() == null) {
                broken.add(relation.name() + " has no app_id: distribute it by app_id, or name it in REFERENCE_TABLES or"
                        + " LOCAL_TABLES with why");
            } else if (kind == Kind.DISTRIBUTED && !relation.appIdType().equals(relation.view() ? "bigint" : "bigint NOT NULL")) {
                // A materialized view's columns carry no NOT NULL: its rows come from tables whose app_id has it.
                broken.add(relation.name() + ".app_id is " + relation.appIdType() + ": co-located tables share the"
                        + " distribution column's type, and a row without one has no shard (bigint NOT NULL)");
            }
        }
        for (String listed : union(REFERENCE_TABLES.keySet(), LOCAL_TABLES.keySet())) {
            if (!roots.contains(listed)) {
                broken.add(listed + " is named as a reference or local table but is not in the schema: take it out");
            }
        }
        for (Key key : schema.keys()) {
            Relation on = schema.relation(key.table());
            if (kindOf(on.root()) == Kind.DISTRIBUTED && on.appIdType() != null && !key.columns().contains("app_id")) {
                broken.add("%s: %s %s %s lacks app_id: a shard can enforce only a key that includes the distribution column"
                        .formatted(on.name(), key.kind(), key.name(), key.columns()));
            }
        }
        for (ForeignKey fk : schema.foreignKeys()) {
            foreignKeyProblem(schema, fk).ifPresent(broken::add);
        }
        return broken;
    }

    private static Kind kindOf(String root) {
        if (REFERENCE_TABLES.containsKey(root)) {
            return Kind.REFERENCE;
        }
        return LOCAL_TABLES.containsKey(root) ? Kind.LOCAL : Kind.DISTRIBUTED;
    }

    /**
     * Citus's rules for foreign keys: between distributed tables only on the distribution column
     * (app_id to app_id, so both rows are on one shard); from a distributed table to a reference table
     * on anything, as every node holds the whole reference table; never from a reference or local table
     * to a distributed one, nor between local and distributed tables.
     */
    private static Optional<String> foreignKeyProblem(Schema schema, ForeignKey fk) {
        Relation from = schema.relation(fk.table());
        Relation to = schema.relation(fk.references());
        Kind fromKind = kindOf(from.root());
        Kind toKind = kindOf(to.root());
        String named = "%s: foreign key %s %s -> %s %s".formatted(from.name(), fk.name(), fk.columns(), to.name(), fk.referencedColumns());
        if (fromKind == Kind.DISTRIBUTED && toKind == Kind.DISTRIBUTED) {
            int at = fk.columns().indexOf("app_id");
            return at >= 0 && "app_id".equals(fk.referencedColumns().get(at))
                    ? Optional.empty()
                    : Optional.of(named + " does not pair app_id with app_id: the two rows may be on different shards");
        }
        if (toKind == Kind.DISTRIBUTED || (fromKind == Kind.DISTRIBUTED && toKind == Kind.LOCAL)) {
            return Optional.of(named + " joins a %s table to a %s one, which Citus cannot enforce"
                    .formatted(fromKind.name().toLowerCase(), toKind.name().toLowerCase()));
        }
        return Optional.empty();
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new TreeSet<>(a);
        all.addAll(b);
        return all;
    }

    enum Kind { DISTRIBUTED, REFERENCE, LOCAL }

    /** A table, partition or materialized view of Parley's schemas; root is the top of its partition tree, or itself. */
    record Relation(long oid, String name, String root, String relname, boolean view, String appIdType) {
    }

    /** A primary key, unique constraint or index, or exclusion constraint, with its key columns (expressions as "(expression)"). */
    record Key(long table, String name, String kind, List<String> columns) {
    }

    record ForeignKey(long table, String name, List<String> columns, long references, List<String> referencedColumns) {
    }

    record Schema(List<Relation> relations, List<Key> keys, List<ForeignKey> foreignKeys) {
        static final Query RELATIONS = new Query("test.distribution_relations", """
                SELECT c.oid::bigint, n.nspname || '.' || c.relname, rn.nspname || '.' || r.relname, c.relname,
                       c.relkind = 'm', format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
                  JOIN pg_namespace rn ON rn.oid = r.relnamespace
                  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'app_id' AND NOT a.attisdropped
                 WHERE n.nspname IN ('public', 'parley_archive', 'parley_retired')
                   AND c.relkind IN ('r', 'p', 'm')
                   AND c.relname <> 'flyway_schema_history'
                 ORDER BY 2""");
        static final Query KEYS = new Query("test.distribution_keys", """
                SELECT i.indrelid::bigint, ic.relname,
                       CASE WHEN i.indisprimary THEN 'primary key' WHEN i.indisexclusion THEN 'exclusion constraint'
                            WHEN con.oid IS NOT NULL THEN 'unique constraint' ELSE 'unique index' END,
                       ARRAY(SELECT coalesce(a.attname::text, '(expression)')
                               FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                              WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
                  FROM pg_index i
                  JOIN pg_class ic ON ic.oid = i.indexrelid
                  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                 WHERE (i.indisunique OR i.indisexclusion) AND i.indrelid = ANY(?)
                 ORDER BY 2""");
        static final Query FOREIGN_KEYS = new Query("test.distribution_foreign_keys", """
                SELECT con.conrelid::bigint, con.conname,
                       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
                       con.confrelid::bigint,
                       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
                  FROM pg_constraint con
                 WHERE con.contype = 'f' AND (con.conrelid = ANY(?) OR con.confrelid = ANY(?))
                 ORDER BY 2""");

        static Schema read(Handle handle) throws SQLException {
            List<Relation> relations = handle.list(RELATIONS, row -> new Relation(row.getLong(1), row.getString(2),
                    row.getString(3), row.getString(4), row.getBoolean(5), row.getString(6)));
            Array oids = handle.array("bigint", relations.stream().map(Relation::oid).toArray());
            List<Key> keys = handle.list(KEYS, row -> new Key(row.getLong(1), row.getString(2), row.getString(3),
                    List.of((String[]) row.getArray(4).getArray())), oids);
            List<ForeignKey> foreignKeys = handle.list(FOREIGN_KEYS, row -> new ForeignKey(row.getLong(1), row.getString(2),
                    List.of((String[]) row.getArray(3).getArray()), row.getLong(4),
                    List.of((String[]) row.getArray(5).getArray())), oids, oids);
            return new Schema(relations, keys, foreignKeys);
        }

        Relation relation(long oid) {
            return relations.stream().filter(r -> r.oid() == oid).findFirst()
                    .orElseThrow(() -> new AssertionError("a key names a table outside Parley's schemas: oid " + oid));
        }

        /** The names a statement can call a distributed table by: its partitions' too. */
        Set<String> distributedTableNames() {
            Set<String> names = new HashSet<>();
            relations.stream().filter(r -> kindOf(r.root()) == Kind.DISTRIBUTED).forEach(r -> names.add(r.relname()));
            return names;
        }
    }

    /** Every Query (or NamedQuery's) held by a static field of a main class, found by reflection over the compiled classes. */
    static final class QueryConstants {
        private static final Pattern NEW_QUERY = Pattern.compile("new Query\\(");
        private static final Pattern STATIC_FIELD = Pattern.compile("\\bstatic final [\\w<>, ?\\[\\]]+ \\w+ =");

        static List<Query> all() throws Exception {
            Path classes = Path.of(Query.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            List<Query> found = new ArrayList<>();
            try (Stream<Path> files = Files.walk(classes)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                    String name = classes.relativize(file).toString().replace(".class", "").replace('/', '.');
                    if (!name.endsWith("-info")) {
                        collect(Class.forName(name, false, Query.class.getClassLoader()), found);
                    }
                }
            }
            return found;
        }

        private static void collect(Class<?> type, List<Query> found) throws IllegalAccessException {
            for (Field field : type.getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers()) && mayHold(field.getType()) && !field.isSynthetic()) {
                    field.setAccessible(true);
                    queriesIn(field.get(null), found);
                }
            }
        }

        private static boolean mayHold(Class<?> type) {
            return type == Query.class || type == NamedQuery.class || type.isArray() || Collection.class.isAssignableFrom(type)
                    || Map.class.isAssignableFrom(type) || type.isRecord();
        }

        private static void queriesIn(Object value, List<Query> found) throws IllegalAccessException {
            switch (value) {
                case null -> { }
                case Query query -> found.add(query);
                case NamedQuery named -> found.add(named.query());
                case Collection<?> values -> {
                    for (Object v : values) {
                        queriesIn(v, found);
                    }
                }
                case Map<?, ?> map -> {
                    for (Object v : map.values()) {
                        queriesIn(v, found);
                    }
                }
                case Object[] values -> {
                    for (Object v : values) {
                        queriesIn(v, found);
                    }
                }
                default -> {
                    if (value.getClass().isRecord()) {
                        for (RecordComponent component : value.getClass().getRecordComponents()) {
                            if (mayHold(component.getType()) || component.getType() == Object.class) {
                                try {
                                    var accessor = component.getAccessor();
                                    accessor.setAccessible(true);
                                    queriesIn(accessor.invoke(value), found);
                                } catch (ReflectiveOperationException e) {
                                    throw new IllegalAccessException(e.toString());
                                }
                            }
                        }
                    }
                }
            }
        }

        /**
         * Per source file, the {@code new Query(} sites outside a static field's initializer (which runs from a
         * line declaring a {@code static final} field with {@code =} to the line that ends with {@code ;}).
         */
        static Map<String, Integer> builtPerCall(Path sources) throws IOException {
            Map<String, Integer> sites = new TreeMap<>();
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                    String name = sources.relativize(file).toString().replaceFirst("^dev/parley/", "");
                    boolean inStaticInitializer = false;
                    for (String line : Files.readAllLines(file)) {
                        inStaticInitializer |= STATIC_FIELD.matcher(line).find();
                        Matcher site = NEW_QUERY.matcher(line);
                        while (site.find()) {
                            if (!inStaticInitializer) {
                                sites.merge(name, 1, Integer::sum);
                            }
                        }
                        inStaticInitializer &= !line.strip().endsWith(";");
                    }
                }
            }
            return sites;
        }
    }
}
