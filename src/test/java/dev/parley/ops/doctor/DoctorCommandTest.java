package dev.parley.ops.doctor;

import static dev.parley.support.Cli.parley;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Cli.Run;
import dev.parley.support.Ports;
import dev.parley.support.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code parley doctor} as a command: output, JSON, exit statuses, --only, --fix. */
class DoctorCommandTest {
    private static final String DB = "doctor_command";
    private final TestDatabase server = TestDatabase.get();
    private String url;

    @BeforeEach
    void databaseWithOneDuplicateIndex() throws Exception {
        server.fresh(DB);
        url = server.url(DB);
        try (Connection c = server.connect(DB)) {
            PlantedDatabase.run(c, "CREATE TABLE items (id bigint PRIMARY KEY, sku text NOT NULL)",
                    "INSERT INTO items SELECT g, 'sku-' || g FROM generate_series(1, 1000) g",
                    "CREATE INDEX items_sku_idx ON items (sku)", "CREATE INDEX items_sku_again_idx ON items (sku)", "ANALYZE items");
        }
    }

    @Test
    void prints_findings_by_severity_with_the_fix_and_exits_1() {
        Run run = parley("doctor", "--url", url, "--only", "index.duplicate");

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.out()).contains("WARNING (1)", "index.duplicate  public.items_sku_idx",
                "DROP INDEX CONCURRENTLY public.items_sku_idx;", "0 critical, 1 warning, 0 info");
    }

    @Test
    void exits_0_when_nothing_reaches_the_minimum_severity() {
        Run run = parley("doctor", "--url", url, "--only", "index", "--min-severity", "critical");

        assertThat(run.status()).isZero();
        assertThat(run.out()).doesNotContain("WARNING (").contains("below critical not shown");
    }

    @Test
    void json_names_every_field_a_machine_needs() throws Exception {
        Run run = parley("doctor", "--url", url, "--only", "index.duplicate", "--json");

        assertThat(run.status()).isEqualTo(1);
        JsonNode report = Json.MAPPER.readTree(run.out());
        assertThat(report.get("format").asInt()).isEqualTo(Report.JSON_FORMAT);
        assertThat(report.get("server").get("database").asText()).isEqualTo(DB);
        assertThat(report.get("min_severity").asText()).isEqualTo("warning");
        assertThat(report.get("counts").get("warning").asInt()).isEqualTo(1);
        JsonNode finding = report.get("findings").get(0);
        assertThat(finding.get("check").asText()).isEqualTo("index.duplicate");
        assertThat(finding.get("severity").asText()).isEqualTo("warning");
        assertThat(finding.get("object").asText()).isEqualTo("public.items_sku_idx");
        assertThat(finding.get("summary").asText()).contains("identical to public.items_sku_again_idx");
        assertThat(finding.get("evidence").get("kept_index").asText()).contains("items_sku_again_idx");
        assertThat(finding.get("fix").get("statements").get(0).asText()).isEqualTo("DROP INDEX CONCURRENTLY public.items_sku_idx;");
        assertThat(finding.get("fix").get("automatic").asBoolean()).isTrue();
        assertThat(report.get("skipped").isArray()).isTrue();
        assertThat(report.get("limited").isArray()).isTrue();
    }

    @Test
    void fix_with_yes_applies_the_automatic_fixes_and_checks_again() {
        Run run = parley("doctor", "--url", url, "--only", "index.duplicate", "--fix", "--yes");

        assertThat(run.out()).contains("running: DROP INDEX CONCURRENTLY public.items_sku_idx;",
                "1 statement(s) applied, 0 failed", "0 critical, 0 warning, 0 info remain.");
        assertThat(run.status()).isZero();
        assertThat(parley("doctor", "--url", url, "--only", "index.duplicate").status()).isZero();
    }

    @Test
    void fix_without_a_terminal_asks_for_yes_and_changes_nothing() {
        Run run = parley("doctor", "--url", url, "--only", "index.duplicate", "--fix");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("pass --yes");
        assertThat(parley("doctor", "--url", url, "--only", "index.duplicate").status()).isEqualTo(1);
    }

    @Test
    void without_a_url_it_audits_parleys_embedded_database(@TempDir Path dataDir) {
        assumeTrue(System.getenv("DATABASE_URL") == null, "DATABASE_URL would be audited instead");
        assertThat(parley("migrate", "--data-dir", dataDir.toString()).status()).as("a folder with a database").isZero();

        Run run = parley("doctor", "--data-dir", dataDir.toString(), "--only", "settings", "--min-severity", "critical");

        assertThat(run.err()).isEmpty();
        assertThat(run.out()).contains("database parley, role postgres (superuser)");
        assertThat(run.status()).as("the embedded server is durable: fsync and full_page_writes are on").isZero();
    }

    @Test
    void a_database_it_cannot_reach_exits_69_not_1_and_json_says_why_on_stdout() throws Exception {
        int closedPort = Ports.free();
        String nowhere = "postgres://postgres@127.0.0.1:" + closedPort + "/x";

        Run text = parley("doctor", "--url", nowhere);
        Run json = parley("doctor", "--url", nowhere, "--json");
        Run noSuchDatabase = parley("doctor", "--url", server.url("doctor_no_such_database"), "--json");
        Run adminPort = parley("doctor", "--url", "http://127.0.0.1:8081");

        assertThat(text.status()).as(text.err()).isEqualTo(69);
        assertThat(text.out()).isEmpty();
        assertThat(text.err()).contains("could not audit", "127.0.0.1:" + closedPort, "connection refused");
        assertThat(json.status()).isEqualTo(69);
        JsonNode error = Json.MAPPER.readTree(json.out());
        assertThat(error.get("format").asInt()).isEqualTo(Report.JSON_FORMAT);
        assertThat(error.get("error").asText()).contains("connection refused");
        assertThat(noSuchDatabase.status()).isEqualTo(69);
        assertThat(Json.MAPPER.readTree(noSuchDatabase.out()).get("error").asText()).contains("no such database");
        assertThat(adminPort.status()).as("a usage error").isEqualTo(2);
        assertThat(adminPort.err()).contains("--url must start with postgres://").doesNotContain("--database-url (DATABASE_URL)");
    }

    @Test
    void url_and_database_url_that_differ_are_refused_and_the_same_one_twice_is_audited() {
        String other = server.url("doctor_command_other");

        Run differ = parley("doctor", "--url=" + url, "--database-url=" + other, "--only", "index.duplicate");
        Run same = parley("doctor", "--url", url, "--database-url", url, "--only", "index.duplicate");

        assertThat(differ.status()).isEqualTo(2);
        assertThat(differ.out()).isEmpty();
        assertThat(differ.err()).contains("--url and --database-url", "differ");
        assertThat(same.status()).as(same.err()).isEqualTo(1);
        assertThat(same.out()).contains("index.duplicate  public.items_sku_idx");
    }

    @Test
    void unknown_checks_and_bad_flags_are_usage_errors() {
        Run unknown = parley("doctor", "--url", url, "--only", "index.nope");
        assertThat(unknown.status()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown check(s) [index.nope]", "index.duplicate");

        assertThat(parley("doctor", "--url", url, "--min-severity", "loud").status()).isEqualTo(2);
        assertThat(parley("doctor", "--url", url, "--yes").status()).isEqualTo(2);
        assertThat(parley("doctor", "--url", url, "--retention", "soon").status()).isEqualTo(2);
        for (String age : new String[] {"0d", "99999999999d", "-1d"}) {
            Run run = parley("doctor", "--url", url, "--retention", age);
            assertThat(run.status()).as(age + ": " + run.err()).isEqualTo(2);
            assertThat(run.err()).as(age).contains("--retention").doesNotContain("For input string");
        }
        for (String size : new String[] {"0", "0GB", "99999999999999999999GB", "8388608TB", "16777216TB"}) {
            Run run = parley("doctor", "--url", url, "--server-memory", size);
            assertThat(run.status()).as(size + ": " + run.err()).isEqualTo(2);
            assertThat(run.err()).as(size).contains("--server-memory").doesNotContain("For input string");
        }
    }
}
