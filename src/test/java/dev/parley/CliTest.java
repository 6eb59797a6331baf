package dev.parley;

import static dev.parley.support.Cli.parley;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.db.Partitions;
import dev.parley.support.Cli.Run;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class CliTest {
    @Test
    void every_command_explains_itself_with_help() {
        for (String[] command : new String[][] {{}, {"serve"}, {"migrate"}, {"apps"}, {"apps", "create"}, {"apps", "list"},
                {"apps", "delete"}, {"apps", "cors"}, {"apps", "keys"}, {"apps", "keys", "create"}, {"apps", "keys", "list"},
                {"apps", "keys", "revoke"},
                {"partitions"}, {"retention"}, {"retention", "set"}, {"retention", "apply"}, {"archive"}, {"import"}, {"doctor"},
                {"monitor"}, {"bench"}, {"bench", "load"}, {"bench", "run"}}) {
            String[] args = java.util.Arrays.copyOf(command, command.length + 1);
            args[command.length] = "--help";
            Run run = parley(args);
            assertThat(run.status()).as(String.join(" ", args)).isZero();
            assertThat(run.out()).as(String.join(" ", args)).contains("Usage: parley");
        }
    }

    @Test
    void usage_errors_exit_2() {
        assertThat(parley().status()).isEqualTo(2);
        assertThat(parley("frobnicate").status()).isEqualTo(2);
        Run badPort = parley("serve", "--port", "eighty");
        assertThat(badPort.status()).isEqualTo(2);
        assertThat(badPort.err()).contains("--port (PARLEY_PORT)");
    }

    @Test
    void a_usage_error_or_a_failure_never_repeats_a_password_given_in_a_url() {
        String url = "postgres://postgres:s3cret-pw@127.0.0.1:1/parley";

        Run mistyped = parley("apps", "rename", "a", url); // unmatched, so quoted back in the message
        Run unknownOption = parley("migrate", "--databse-url", url);
        Run unreachable = parley("migrate", "--database-url", url);

        assertThat(mistyped.status()).isEqualTo(2);
        assertThat(unknownOption.status()).isEqualTo(2);
        assertThat(unreachable.status()).isNotZero();
        for (Run run : List.of(mistyped, unknownOption, unreachable)) {
            assertThat(run.err()).as(run.err()).doesNotContain("s3cret-pw").isNotBlank();
        }
        assertThat(mistyped.err()).contains("postgres://postgres:***@127.0.0.1:1/parley");
    }

    @Test
    void every_command_and_subcommand_prints_the_version() {
        everyCommand(new picocli.CommandLine(new Main()), new java.util.ArrayList<>());
    }

    private static void everyCommand(picocli.CommandLine command, java.util.List<String> path) {
        if (!command.getCommandName().equals("help")) {
            var args = new java.util.ArrayList<>(path);
            args.add("--version");
            Run run = parley(args.toArray(String[]::new));
            assertThat(run.status()).as(String.join(" ", args)).isZero();
            assertThat(run.out()).as(String.join(" ", args)).startsWith("parley ").contains("Java ");
        }
        command.getSubcommands().forEach((name, sub) -> {
            var deeper = new java.util.ArrayList<>(path);
            deeper.add(name);
            everyCommand(sub, deeper);
        });
    }

    @Test
    void apps_create_help_gives_the_rule_the_name_check_applies() {
        Run help = parley("apps", "create", "--help");
        Run dash = parley("apps", "create", "-dash", "--database-url", "postgres://nobody@127.0.0.1:1/none");

        assertThat(help.out().replaceAll("\\s+", " ")).contains("1-63 letters, digits, '_', '.' or '-', starting with a letter or digit");
        assertThat(dash.status()).as(dash.err()).isEqualTo(2);
    }

    @Test
    void a_bad_value_is_a_usage_error_told_before_connecting() {
        String nowhere = "postgres://nobody@127.0.0.1:1/none"; // connecting would fail otherwise, with status 1
        Run lots = parley("bench", "load", "--messages", "lots", "--database-url", nowhere);
        Run badName = parley("apps", "create", "bad name!", "--database-url", nowhere);
        Run importLots = parley("bench", "import", "--messages", "lots", "--database-url", nowhere);

        assertThat(lots.status()).as(lots.err()).isEqualTo(2);
        assertThat(lots.err()).contains("lots").doesNotContain("refused");
        assertThat(badName.status()).as(badName.err()).isEqualTo(2);
        assertThat(badName.err()).contains("app names").doesNotContain("refused");
        assertThat(importLots.status()).as(importLots.err()).isEqualTo(2);
    }

    @Test
    void a_database_that_cannot_be_reached_is_named_with_the_reason_at_once() {
        long started = System.nanoTime();
        Run refused = parley("migrate", "--database-url", "postgres://postgres@127.0.0.1:1/parley");
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        Run missing = parley("doctor", "--database-url", TestDatabase.get().url("parley_no_such_database"));

        assertThat(refused.status()).isEqualTo(1);
        assertThat(refused.err()).contains("127.0.0.1:1/parley").contains("connection refused");
        assertThat(tookMillis).as("a closed port is told at once, not after the pool's 10 s").isLessThan(5_000);
        assertThat(missing.status()).as("the doctor's own status for a database it could not audit").isEqualTo(69);
        assertThat(missing.err()).contains("no such database");
    }

    @Test
    void migrate_check_reports_pending_migrations_then_migrate_applies_them() {
        TestDatabase.get().fresh("parley_cli");
        String url = TestDatabase.get().url("parley_cli");

        Run check = parley("migrate", "--check", "--database-url", url);
        Run migrate = parley("migrate", "--database-url", url);
        Run again = parley("migrate", "--check", "--database-url", url);

        assertThat(check.status()).isEqualTo(1);
        assertThat(check.err()).contains("pending").contains("parley migrate");
        assertThat(migrate.status()).isZero();
        assertThat(migrate.out()).contains("Applied").contains("messages partitioned by time ordered id");
        assertThat(again.status()).isZero();
    }

    @Test
    void an_applied_migration_that_differs_from_this_builds_is_named_with_both_checksums_and_no_flyway_repair() throws Exception {
        TestDatabase.get().migrated("parley_cli_checksum");
        String url = TestDatabase.get().url("parley_cli_checksum");
        try (var sql = TestDatabase.get().connect("parley_cli_checksum")) {
            sql.createStatement().execute("UPDATE flyway_schema_history SET checksum = 12345 WHERE version = '5'");
        }

        for (Run run : List.of(parley("migrate", "--check", "--database-url", url), parley("migrate", "--database-url", url))) {
            assertThat(run.status()).as(run.err()).isEqualTo(1);
            assertThat(run.err()).containsPattern("V5 \\(message idempotency keys\\) was applied from another version of its "
                            + "file: checksum 12345 in flyway_schema_history, -?\\d+ in this build")
                    .contains("docs/operations.md, \"Schema\"").doesNotContain("repair").doesNotContain("red-gate");
        }
    }

    /** As on a managed server, whose owners are no superusers: the checks before a migration read only what any role may. */
    @Test
    void a_role_that_owns_its_database_and_is_no_superuser_migrates_it() throws Exception {
        try (var admin = TestDatabase.get().connect("postgres"); var sql = admin.createStatement()) {
            sql.execute("DROP DATABASE IF EXISTS parley_cli_owner WITH (FORCE)");
            sql.execute("DO $$ BEGIN CREATE ROLE parley_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
            sql.execute("CREATE DATABASE parley_cli_owner OWNER parley_owner");
        }
        String url = TestDatabase.get().url("parley_cli_owner").replaceFirst("//[^@]*@", "//parley_owner@");

        Run run = parley("migrate", "--database-url", url);
        Run check = parley("migrate", "--check", "--database-url", url);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(check.status()).as(check.err()).isZero();
    }

    @Test
    void migrate_as_a_role_that_may_not_create_tables_says_what_to_grant_in_its_own_words() throws Exception {
        TestDatabase.get().fresh("parley_cli_no_create");
        try (var sql = TestDatabase.get().connect("parley_cli_no_create")) {
            sql.createStatement().execute("DO $$ BEGIN CREATE ROLE parley_no_create LOGIN; EXCEPTION WHEN duplicate_object "
                    + "THEN NULL; END $$");
            sql.createStatement().execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        }
        String url = TestDatabase.get().url("parley_cli_no_create").replaceFirst("//[^@]*@", "//parley_no_create@");

        Run run = parley("migrate", "--database-url", url);

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).contains("may not change the database's schema", "permission denied for schema public",
                "GRANT CREATE ON SCHEMA public TO parley_no_create").doesNotContain("-X").doesNotContain("SQL State  :");
    }

    @Test
    void migrate_refuses_a_schema_holding_tables_that_are_not_parleys_and_says_so_in_its_own_words() throws Exception {
        TestDatabase.get().fresh("parley_cli_not_parleys");
        String url = TestDatabase.get().url("parley_cli_not_parleys");
        try (var sql = TestDatabase.get().connect("parley_cli_not_parleys")) {
            sql.createStatement().execute("CREATE TABLE public.messages (id bigint PRIMARY KEY, body text)");
        }

        Run run = parley("migrate", "--database-url", url);
        Run check = parley("migrate", "--check", "--database-url", url); // not "run parley migrate", which refuses

        assertThat(run.status()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).contains("schema \"public\" already holds tables that are not Parley's",
                        "Parley migrates an empty database or one it migrated itself", "createdb")
                .doesNotContain("baseline").doesNotContain("Found non-empty");
        assertThat(check.status()).as(check.err()).isEqualTo(1);
        assertThat(check.err()).contains("schema \"public\" already holds tables that are not Parley's")
                .doesNotContain("run 'parley migrate'");
        try (var sql = TestDatabase.get().connect("parley_cli_not_parleys");
             var tables = sql.createStatement().executeQuery("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) {
            tables.next();
            assertThat(tables.getInt(1)).as("only the table that was there").isEqualTo(1);
        }
    }

    /** A LATIN1 database failed every write of text outside Latin-1 with a 500; an SQL_ASCII one searched it wrongly. */
    @Test
    void a_database_not_in_utf8_is_refused_before_anything_is_made_in_it() throws Exception {
        try (var admin = TestDatabase.get().connect("postgres"); var sql = admin.createStatement()) {
            sql.execute("DROP DATABASE IF EXISTS parley_cli_latin1 WITH (FORCE)");
            sql.execute("CREATE DATABASE parley_cli_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
        }
        String url = TestDatabase.get().url("parley_cli_latin1");

        Run run = parley("migrate", "--database-url", url);
        Run check = parley("migrate", "--check", "--database-url", url);

        for (Run refused : List.of(run, check)) {
            assertThat(refused.status()).as(refused.err()).isEqualTo(1);
            assertThat(refused.err()).contains("the database's encoding is LATIN1", "ENCODING 'UTF8'", "changed nothing");
        }
        try (var sql = TestDatabase.get().connect("parley_cli_latin1");
             var tables = sql.createStatement().executeQuery("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) {
            tables.next();
            assertThat(tables.getInt(1)).isZero();
        }
    }

    /**
     * A schema put before Parley's in the search_path (a DBA's, or one named after Parley's role under the default
     * "$user", public) made a migrated database read as empty: "40 migration(s) pending", and migrate then built a
     * second copy there and failed half-way.
     */
    @Test
    void a_search_path_that_hides_parleys_tables_behind_another_schema_is_refused_naming_both() throws Exception {
        TestDatabase.get().migrated("parley_cli_search_path");
        String url = TestDatabase.get().url("parley_cli_search_path");
        try (var sql = TestDatabase.get().connect("parley_cli_search_path"); var statement = sql.createStatement()) {
            statement.execute("CREATE SCHEMA shadow");
            statement.execute("CREATE SCHEMA crm"); // another app's, migrated by Flyway too
            statement.execute("CREATE TABLE crm.flyway_schema_history (installed_rank int PRIMARY KEY, version text, "
                    + "description text, type text, script text, checksum int, installed_by text, installed_on timestamp, "
                    + "execution_time int, success boolean)");
            statement.execute("INSERT INTO crm.flyway_schema_history VALUES (1, '1', 'init crm', 'SQL', 'V1__init_crm.sql', "
                    + "12345, 'crm', now(), 1, true)");
        }
        for (String first : List.of("shadow", "crm")) {
            try (var sql = TestDatabase.get().connect("parley_cli_search_path")) {
                sql.createStatement().execute("ALTER DATABASE parley_cli_search_path SET search_path = " + first + ", public");
            }

            Run run = parley("migrate", "--database-url", url);
            Run check = parley("migrate", "--check", "--database-url", url);

            for (Run refused : List.of(run, check)) {
                assertThat(refused.status()).as(refused.err()).isEqualTo(1);
                assertThat(refused.err()).as(first).contains("schema public holds Parley's tables",
                        "search_path (" + first + ", public)", "names schema " + first + " first", "changed nothing")
                        .doesNotContain("pending").doesNotContain("checksum");
            }
        }
        try (var sql = TestDatabase.get().connect("parley_cli_search_path");
             var tables = sql.createStatement().executeQuery("SELECT count(*) FROM pg_tables WHERE schemaname IN ('shadow', 'crm')")) {
            tables.next();
            assertThat(tables.getInt(1)).as("no second copy, the other app's history alone").isEqualTo(1);
        }
    }

    /** An empty search_path (a hardening step) failed inside the check, as "null values cannot be formatted". */
    @Test
    void a_search_path_that_names_no_schema_is_refused_saying_so() throws Exception {
        TestDatabase.get().migrated("parley_cli_no_schema");
        try (var sql = TestDatabase.get().connect("parley_cli_no_schema")) {
            sql.createStatement().execute("ALTER DATABASE parley_cli_no_schema SET search_path = ''");
        }

        Run check = parley("migrate", "--check", "--database-url", TestDatabase.get().url("parley_cli_no_schema"));

        assertThat(check.status()).as(check.err()).isEqualTo(1);
        assertThat(check.err()).contains("names no schema that exists").doesNotContain("null values");
    }

    /** A UTF8 database in the C locale takes every text but folds only ASCII: search misses "École" for "école". */
    @Test
    void a_database_whose_character_classes_are_cs_is_served_with_a_warning_saying_what_search_misses() {
        try (var admin = TestDatabase.get().connect("postgres"); var sql = admin.createStatement()) {
            sql.execute("DROP DATABASE IF EXISTS parley_cli_ctype_c WITH (FORCE)");
            sql.execute("CREATE DATABASE parley_cli_ctype_c ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        var logger = (Logger) LoggerFactory.getLogger(dev.parley.db.Migrations.class);
        logger.addAppender(appender);
        try {
            assertThat(parley("migrate", "--database-url", TestDatabase.get().url("parley_cli_ctype_c")).status()).isZero();
        } finally {
            logger.detachAppender(appender);
        }

        assertThat(appender.list).map(ILoggingEvent::getFormattedMessage)
                .anyMatch(line -> line.contains("LC_CTYPE is C") && line.contains("École") && line.contains("--locale=C.UTF-8"));
    }

    @Test
    void a_database_a_newer_parley_migrated_is_neither_migrated_nor_served() throws Exception {
        TestDatabase.get().migrated("parley_cli_newer");
        String url = TestDatabase.get().url("parley_cli_newer");
        try (var sql = TestDatabase.get().connect("parley_cli_newer")) {
            sql.createStatement().execute("""
                    INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,
                                                       installed_by, execution_time, success)
                    SELECT max(installed_rank) + 1, '999', 'a later build', 'SQL', 'V999__a_later_build.sql', 0, 'test', 0, true
                      FROM flyway_schema_history""");
        }

        for (Run run : List.of(parley("migrate", "--check", "--database-url", url), parley("migrate", "--database-url", url))) {
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.err()).contains("V999 (a later build)")
                    .containsPattern("newer than this build's \\(V[1-9][0-9]?\\)"); // this build's own newest, not V999
        }
        assertThatThrownBy(() -> TestServer.alongside("parley_cli_newer", Map.of()).close())
                .hasMessageContaining("newer than this build's");
    }

    @Test
    void serve_says_which_migrations_it_applies_before_and_after() {
        var target = TestDatabase.get().fresh("parley_cli_serve_migrates");
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        var logger = (Logger) LoggerFactory.getLogger(Parley.class);
        Level before = logger.getLevel();
        logger.setLevel(Level.INFO); // the tests' log says only warnings
        logger.addAppender(appender);
        try (Parley parley = TestServer.startOn(target, Map.of())) {
            assertThat(parley.port()).isPositive();
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }

        assertThat(appender.list).map(ILoggingEvent::getFormattedMessage)
                .anyMatch(line -> line.matches("applying \\d+ migration\\(s\\): V1 \\(.*"))
                .anyMatch(line -> line.matches("applied \\d+ migration\\(s\\) in \\d+ ms"));
    }

    @Test
    void two_servers_starting_together_on_a_new_database_each_say_how_many_migrations_they_applied() throws Exception {
        var target = TestDatabase.get().fresh("parley_cli_serve_migrates_twice");
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        var logger = (Logger) LoggerFactory.getLogger(Parley.class);
        Level before = logger.getLevel();
        logger.setLevel(Level.INFO);
        logger.addAppender(appender);
        try (var starting = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var first = starting.submit(() -> TestServer.startOn(target, Map.of()));
            var second = starting.submit(() -> TestServer.startOn(target, Map.of()));
            try (Parley one = first.get(); Parley other = second.get()) {
                assertThat(one.port()).isNotEqualTo(other.port());
            }
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }

        var byThread = appender.list.stream().collect(java.util.stream.Collectors.groupingBy(ILoggingEvent::getThreadName,
                java.util.stream.Collectors.mapping(ILoggingEvent::getFormattedMessage, java.util.stream.Collectors.toList())));
        int listed = 0;
        int applied = 0;
        for (List<String> lines : byThread.values()) {
            var applying = lines.stream().filter(line -> line.startsWith("applying ")).findFirst();
            var done = lines.stream().filter(line -> line.startsWith("applied ")).findFirst();
            assertThat(done.isPresent()).as("an instance that said it applies migrations says how many it did: " + lines)
                    .isEqualTo(applying.isPresent());
            if (applying.isPresent()) {
                listed = Math.max(listed, Integer.parseInt(applying.get().split(" ")[1]));
                applied += Integer.parseInt(done.get().split(" ")[1]);
            }
        }
        assertThat(applied).as("every migration applied once, by one of them").isEqualTo(listed).isPositive();
    }

    @Test
    void a_command_given_a_data_folder_without_a_database_makes_none_and_migrate_says_it_made_one(@TempDir Path folder) {
        assumeTrue(System.getenv("DATABASE_URL") == null, "DATABASE_URL would be used instead");
        String typo = folder.resolve("typo").toString();

        List<Run> refused = List.of(parley("migrate", "--check", "--data-dir", typo),
                parley("partitions", "--data-dir", typo), parley("archive", "--older-than", "6mo", "--data-dir", typo),
                parley("apps", "list", "--data-dir", typo), parley("retention", "apply", "--data-dir", typo),
                parley("bench", "run", "--duration", "1s", "--data-dir", typo));
        for (Run run : refused) {
            assertThat(run.status()).as(run.err()).isEqualTo(2);
            assertThat(run.err()).contains("no Parley database in " + typo, "--data-dir (PARLEY_DATA_DIR)");
        }
        Run doctor = parley("doctor", "--json", "--data-dir", typo);
        assertThat(doctor.status()).as("nothing audited: " + doctor.err()).isEqualTo(69);
        assertThat(doctor.out()).contains("\"error\"", "no Parley database in");
        assertThat(folder.resolve("typo").resolve("pg")).doesNotExist();

        String other = folder.resolve("other").toString();
        Run app = parley("apps", "create", "first", "--data-dir", other);
        assertThat(app.status()).as(app.err()).isZero();
        assertThat(app.out()).startsWith("Made a new embedded database in " + other + ".").contains("Created app 'first'");
        Run made = parley("migrate", "--data-dir", typo);
        Run checked = parley("migrate", "--check", "--data-dir", typo);
        assertThat(made.status()).as(made.err()).isZero();
        assertThat(made.out()).startsWith("Made a new embedded database in " + typo + ".").contains("Applied ");
        assertThat(checked.status()).as(checked.err()).isZero();
        assertThat(checked.out()).startsWith("The schema is current.");
    }

    @Test
    void apps_create_prints_a_key_once_and_list_shows_the_app() {
        TestDatabase.get().migrated("parley_cli_apps");
        String url = TestDatabase.get().url("parley_cli_apps");

        Run created = parley("apps", "create", "companion-app", "--database-url", url);
        Run duplicate = parley("apps", "create", "companion-app", "--database-url", url);
        Run listed = parley("apps", "list", "--database-url", url);

        assertThat(created.status()).isZero();
        assertThat(created.out()).containsPattern("pk_[A-Za-z0-9_-]{43}");
        assertThat(duplicate.status()).isEqualTo(1);
        assertThat(duplicate.err()).contains("already exists");
        assertThat(listed.out()).contains("companion-app").doesNotContain("pk_");
    }

    @Test
    void a_command_says_nothing_of_how_recall_scores_and_serve_says_it_once() {
        var target = TestDatabase.get().migrated("parley_cli_recall_quiet");
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        var logger = (Logger) LoggerFactory.getLogger(dev.parley.memory.Recall.class);
        Level before = logger.getLevel();
        logger.setLevel(Level.INFO); // the line is INFO with the Vector API, as in the tests, and WARN without
        logger.addAppender(appender);
        List<String> byCommands;
        try {
            parley("apps", "create", "quiet", "--database-url", TestDatabase.get().url("parley_cli_recall_quiet"));
            parley("apps", "list", "--database-url", TestDatabase.get().url("parley_cli_recall_quiet"));
            byCommands = appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            try (Parley parley = TestServer.startOn(target, Map.of())) {
                assertThat(parley.port()).isPositive();
            }
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }

        assertThat(byCommands).as("apps create and list score no memory").noneMatch(line -> line.contains("compares embeddings"));
        assertThat(appender.list).map(ILoggingEvent::getFormattedMessage).filteredOn(line -> line.contains("compares embeddings"))
                .hasSize(1);
    }

    @Test
    void partitions_lists_months_and_exits_0_when_the_catch_alls_are_empty() {
        TestDatabase.get().migrated("parley_cli_partitions");
        Run run = parley("partitions", "--ensure", "--database-url", TestDatabase.get().url("parley_cli_partitions"));

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains("messages_before").contains("messages_after").containsPattern("hot\\s+messages_y\\d{4}m\\d{2}")
                .contains("BYTES");
    }

    @Test
    void partitions_ensure_moves_the_rows_waiting_in_either_catch_all_into_months_of_their_own() throws Exception {
        TestDatabase.get().migrated("parley_cli_partitions_stragglers");
        String url = TestDatabase.get().url("parley_cli_partitions_stragglers");
        assertThat(parley("partitions", "--ensure", "--database-url", url).status()).isZero();
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        YearMonth old = now.minusMonths(14);
        YearMonth ahead = now.plusMonths(7); // past the 3 months made ahead
        try (var sql = TestDatabase.get().connect("parley_cli_partitions_stragglers")) {
            for (long id : List.of(Partitions.floorOf(old) + 1, Partitions.floorOf(ahead) + 1)) {
                sql.createStatement().execute("INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, "
                        + "role, content) VALUES (1, 1, 1, " + id + ", 1, parley_id_time(" + id + "), 'user', 'x')");
            }
        }
        Run stuck = parley("partitions", "--database-url", url);
        assertThat(stuck.status()).isEqualTo(1);
        assertThat(stuck.out()).contains("2 row(s) sit in the catch-all partitions: run with --ensure");

        Run run = parley("partitions", "--ensure", "--database-url", url);

        assertThat(run.status()).as(run.out()).isZero();
        assertThat(run.out()).contains("Moved 2 row(s) out of the catch-all partitions").contains("The catch-all partitions are empty.")
                .containsPattern("hot\\s+" + Partitions.nameOf(old) + "\\s+\\S+\\s+\\S+\\s+1\\s")
                .containsPattern("hot\\s+" + Partitions.nameOf(ahead) + "\\s+\\S+\\s+\\S+\\s+1\\s")
                .doesNotContain(Partitions.nameOf(old.plusMonths(1))).contains("(gap: no rows)");
        assertThat(run.out().indexOf("(gap: no rows)")).as("the gap among the months, in time order")
                .isGreaterThan(run.out().indexOf(Partitions.nameOf(old))).isLessThan(run.out().indexOf(Partitions.AFTER));
        assertThat(parley("partitions", "--database-url", url).status()).isZero();
    }

    @Test
    void a_plain_import_puts_back_the_words_indexes_an_interrupted_bulk_import_left_on_pending_lists() throws Exception {
        TestDatabase.get().migrated("parley_cli_import_left_on");
        String url = TestDatabase.get().url("parley_cli_import_left_on");
        assertThat(parley("apps", "create", "left", "--database-url", url).status()).isZero();
        try (var pool = TestDatabase.pool(TestDatabase.get().target("parley_cli_import_left_on"), 1)) {
            dev.parley.db.WordIndexes.throughPendingLists(pool, true); // as import --bulk starts; a Ctrl-C then skips its finally
        }
        Path lines = Files.createTempFile("parley-left-on", ".ndjson");
        Files.writeString(lines, "{\"type\":\"user\",\"external_id\":\"u\"}\n");

        Run run = parley("import", lines.toString(), "--app", "left", "--database-url", url);

        assertThat(run.status()).isZero();
        assertThat(run.err()).contains("Put back");
        try (var sql = TestDatabase.get().connect("parley_cli_import_left_on");
             var rows = sql.createStatement().executeQuery("SELECT count(*) FROM pg_class WHERE 'fastupdate=on' = ANY (reloptions)")) {
            rows.next();
            assertThat(rows.getLong(1)).isZero();
        }
    }

    @Test
    void partitions_counts_the_rows_of_a_month_too_small_for_autoanalyze_to_have_estimated() throws Exception {
        TestDatabase.get().migrated("parley_cli_partitions_rows");
        String url = TestDatabase.get().url("parley_cli_partitions_rows");
        assertThat(parley("apps", "create", "rows", "--database-url", url).status()).isZero();
        Path lines = Files.createTempFile("parley-partitions", ".ndjson");
        Files.writeString(lines, String.join("\n",
                "{\"type\":\"character\",\"external_id\":\"c\",\"name\":\"Luna\"}",
                "{\"type\":\"user\",\"external_id\":\"u\"}",
                "{\"type\":\"conversation\",\"external_id\":\"k\",\"user\":\"u\",\"character\":\"c\",\"created_at\":\"2025-02-01T00:00:00Z\"}",
                "{\"type\":\"message\",\"conversation\":\"k\",\"external_id\":\"1\",\"content\":\"one\",\"created_at\":\"2025-02-01T00:00:01Z\"}",
                "{\"type\":\"message\",\"conversation\":\"k\",\"external_id\":\"2\",\"content\":\"two\",\"created_at\":\"2025-02-01T00:00:02Z\"}",
                "{\"type\":\"message\",\"conversation\":\"k\",\"external_id\":\"3\",\"content\":\"three\",\"created_at\":\"2025-02-01T00:00:03Z\"}"));
        assertThat(parley("import", lines.toString(), "--app", "rows", "--database-url", url).status()).isZero();

        Run run = parley("partitions", "--database-url", url);

        assertThat(run.out()).containsPattern("hot\\s+messages_y2025m02\\s+\\S+\\s+\\S+\\s+3\\s");
    }

    /** Months archived without a row (gaps until then) were listed nowhere: a hole in the listing, though they take no writes. */
    @Test
    void partitions_lists_the_months_archived_without_rows_among_the_archived_ones() throws Exception {
        TestDatabase.get().migrated("parley_cli_partitions_closed");
        String url = TestDatabase.get().url("parley_cli_partitions_closed");
        assertThat(parley("apps", "create", "closed", "--database-url", url).status()).isZero();
        YearMonth old = YearMonth.now(ZoneOffset.UTC).minusMonths(14);
        String at = old.atDay(2).atStartOfDay().toInstant(ZoneOffset.UTC).toString();
        Path lines = Files.createTempFile("parley-partitions", ".ndjson");
        Files.writeString(lines, String.join("\n",
                "{\"type\":\"character\",\"external_id\":\"c\",\"name\":\"Luna\"}",
                "{\"type\":\"user\",\"external_id\":\"u\"}",
                "{\"type\":\"conversation\",\"external_id\":\"k\",\"user\":\"u\",\"character\":\"c\",\"created_at\":\"" + at + "\"}",
                "{\"type\":\"message\",\"conversation\":\"k\",\"external_id\":\"1\",\"content\":\"one\",\"created_at\":\"" + at + "\"}"));
        assertThat(parley("import", lines.toString(), "--app", "closed", "--database-url", url).status()).isZero();
        assertThat(parley("archive", "--older-than", "6mo", "--database-url", url).status()).isZero();

        Run run = parley("partitions", "--database-url", url);

        assertThat(run.status()).as(run.out()).isZero();
        assertThat(run.out()).containsPattern("archive\\s+" + Partitions.nameOf(old) + "\\s")
                .containsPattern("archive\\s+\\(closed: no rows\\)\\s+" + old.plusMonths(1) + "-01T00:00:00Z\\s");
    }

    @Test
    void partitions_names_a_default_partition_an_operator_attached_and_exits_1_and_archive_refuses_beside_it() throws Exception {
        TestDatabase.get().migrated("parley_cli_partitions_default");
        String url = TestDatabase.get().url("parley_cli_partitions_default");
        try (var pool = TestDatabase.pool(TestDatabase.get().target("parley_cli_partitions_default"), 1)) {
            YearMonth now = YearMonth.now(ZoneOffset.UTC);
            new Partitions(pool).ensure(now.minusMonths(4), now); // months old enough to archive
        }
        try (var sql = TestDatabase.get().connect("parley_cli_partitions_default")) {
            sql.createStatement().execute("CREATE TABLE messages_planted_default PARTITION OF messages DEFAULT");
        }

        Run run = parley("partitions", "--database-url", url);
        Run archive = parley("archive", "--older-than", "2mo", "--database-url", url);
        Run dryRun = parley("archive", "--older-than", "2mo", "--dry-run", "--database-url", url);

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.out()).containsPattern("hot\\s+messages_y\\d{4}m\\d{2}").doesNotContainPattern("hot\\s+messages_planted_default")
                .contains("messages has a DEFAULT partition, messages_planted_default, beside which PostgreSQL detaches no partition "
                        + "concurrently: no month of it is archived or dropped whole while it is there");
        assertThat(archive.status()).isEqualTo(1);
        assertThat(archive.err()).contains("parley: messages has a DEFAULT partition, messages_planted_default");
        assertThat(dryRun.status()).as("a dry run says the run would refuse, and why").isEqualTo(1);
        assertThat(dryRun.err()).contains("parley: messages has a DEFAULT partition, messages_planted_default");
        assertThat(dryRun.out()).doesNotContain("Would archive");
    }

    @Test
    void archive_lists_what_it_would_move_and_refuses_an_age_it_cannot_read() {
        TestDatabase.get().migrated("parley_cli_archive");
        String url = TestDatabase.get().url("parley_cli_archive");

        Run dryRun = parley("archive", "--older-than", "6mo", "--dry-run", "--database-url", url);
        Run run = parley("archive", "--older-than", "6mo", "--database-url", url);
        Run badAge = parley("archive", "--older-than", "six months", "--database-url", url);

        assertThat(dryRun.status()).isZero();
        assertThat(dryRun.out()).contains("No hot month ended before");
        assertThat(run.status()).isZero();
        assertThat(run.out()).contains("nothing moved");
        assertThat(badAge.status()).isEqualTo(2);
        assertThat(badAge.err()).contains("--older-than").contains("6mo");
    }

    @Test
    void archive_says_the_months_it_finds_nothing_in_are_archived_already_and_refuses_an_age_beyond_100_years() throws Exception {
        TestDatabase.get().migrated("parley_cli_archive_again");
        String url = TestDatabase.get().url("parley_cli_archive_again");
        try (var pool = TestDatabase.pool(TestDatabase.get().target("parley_cli_archive_again"), 1)) {
            YearMonth now = YearMonth.now(ZoneOffset.UTC);
            new Partitions(pool).ensure(now.minusMonths(9), now.minusMonths(8));
        }

        Run first = parley("archive", "--older-than", "6mo", "--database-url", url);
        Run dryRun = parley("archive", "--older-than", "6mo", "--dry-run", "--database-url", url);
        Run again = parley("archive", "--older-than", "6mo", "--database-url", url);
        Run typo = parley("archive", "--older-than", "99999y", "--database-url", url);

        assertThat(first.out()).contains("Archived 2 month(s)");
        assertThat(dryRun.out()).containsPattern("No hot month ended before \\S+ \\(2 month\\(s\\) before it are archived already\\)\\.");
        assertThat(again.out()).contains("(2 month(s) before it are archived already); nothing moved.");
        assertThat(typo.status()).isEqualTo(2);
        assertThat(typo.err()).contains("--older-than: an age is at most 100 years").contains("'99999y'");
    }

    @Test
    void archive_and_retention_apply_that_find_a_round_running_say_they_did_nothing_and_exit_75() throws Exception {
        TestDatabase.get().migrated("parley_cli_round_busy");
        String url = TestDatabase.get().url("parley_cli_round_busy");
        Run archive;
        Run apply;
        try (var sql = TestDatabase.get().connect("parley_cli_round_busy")) { // as a serving Parley's daily round would
            sql.createStatement().execute("SELECT pg_advisory_lock(hashtext('parley.lifecycle'))");
            archive = parley("archive", "--older-than", "6mo", "--database-url", url);
            apply = parley("retention", "apply", "--database-url", url);
        }
        Run after = parley("archive", "--older-than", "6mo", "--database-url", url);

        for (Run busy : List.of(archive, apply)) {
            assertThat(busy.status()).isEqualTo(75);
            assertThat(busy.out()).doesNotContain("nothing moved").doesNotContain("Dropped 0");
            assertThat(busy.err()).contains("another round of retention or archiving is running").contains("nothing was done");
        }
        assertThat(after.status()).isZero();
        assertThat(after.out()).contains("nothing moved");
    }

    @Test
    void retention_sets_an_apps_days_shows_them_and_applies_them() {
        TestDatabase.get().migrated("parley_cli_retention");
        String url = TestDatabase.get().url("parley_cli_retention");
        parley("apps", "create", "swarm", "--database-url", url);
        parley("apps", "create", "companion", "--database-url", url);

        Run set = parley("retention", "set", "swarm", "30", "--database-url", url);
        Run shown = parley("retention", "--database-url", url);
        Run applied = parley("retention", "apply", "--database-url", url);
        Run badDays = parley("retention", "set", "swarm", "0", "--database-url", url);
        Run noSuchApp = parley("retention", "set", "nobody", "30", "--database-url", url);

        assertThat(set.status()).isZero();
        assertThat(set.out()).contains("30 days");
        assertThat(shown.out()).containsPattern("swarm\\s+30 days\\s+\\d{4}-").containsPattern("companion\\s+for ever");
        assertThat(applied.status()).isZero();
        assertThat(applied.out()).contains("Dropped 0 month(s)").contains("Deleted 0 older message(s)");
        assertThat(badDays.status()).isEqualTo(2);
        assertThat(badDays.err()).contains("DAYS must be");
        assertThat(noSuchApp.status()).isEqualTo(1);
        assertThat(noSuchApp.err()).contains("no app is named 'nobody'");
    }

    @Test
    void retention_acts_on_the_database_flagged_before_its_subcommand_and_refuses_one_on_both_sides() {
        TestDatabase.get().migrated("parley_cli_retention_first");
        TestDatabase.get().migrated("parley_cli_retention_other");
        String url = TestDatabase.get().url("parley_cli_retention_first");
        String other = TestDatabase.get().url("parley_cli_retention_other");
        parley("apps", "create", "swarm", "--database-url", url);
        parley("apps", "create", "swarm", "--database-url", other);

        Run set = parley("retention", "--database-url", url, "set", "swarm", "30");
        assertThat(set.status()).as(set.err()).isZero(); // before applying anything: a flag ignored meant ~/.parley
        Run applied = parley("retention", "--database-url", url, "apply");
        Run both = parley("retention", "--database-url", other, "set", "swarm", "7", "--database-url", url);
        Run beforeTheCommand = parley("--database-url", url, "retention", "apply");

        assertThat(applied.status()).as(applied.err()).isZero();
        assertThat(applied.out()).contains("Dropped 0 month(s)").contains("Deleted 0 older message(s)");
        assertThat(parley("retention", "--database-url", url).out()).containsPattern("swarm\\s+30 days");
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.err()).contains("'--database-url' should be specified only once, before or after the subcommand");
        assertThat(parley("retention", "--database-url", other).out()).as("neither side won")
                .containsPattern("swarm\\s+for ever");
        assertThat(beforeTheCommand.status()).isEqualTo(2);
        assertThat(beforeTheCommand.err()).contains("Unknown option");
    }
}
