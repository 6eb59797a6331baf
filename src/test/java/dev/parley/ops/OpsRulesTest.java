package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestRedis;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import dev.parley.support.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/ops: the alert rules pass promtool, each has promtool tests that it fires past its threshold and stays quiet
 * below it, and they name only metrics Parley publishes.
 */
class OpsRulesTest {
    private static final Path OPS = Path.of("docs/ops");
    private static final Pattern ALERT = Pattern.compile("(?m)^\\s*- alert: (\\w+)\\s*$");
    /** An alert_rule_test entry: its alert, then its expected alerts, none ("[]") or a list of them on the next lines. */
    private static final Pattern ALERT_TEST = Pattern.compile(
            "(?m)^\\s*alertname: (\\w+)\\s*\\n\\s*exp_alerts:(?:(\\s*\\[\\])|\\s*\\n\\s*- exp_labels:)");
    private static final Pattern METRIC = Pattern.compile("\\b((?:parley|hikaricp)_[a-z0-9_]+)");

    @Test
    void the_alert_rules_are_valid_and_fire_past_their_thresholds_in_promtools_own_tests() throws Exception {
        Path promtool = Tools.require("promtool", "prometheus");

        var check = Tools.run(OPS, promtool.toString(), "check", "rules", "alerts.yml");
        assertThat(check.status()).as(check.output()).isZero();
        var test = Tools.run(OPS, promtool.toString(), "test", "rules", "alerts-test.yml");
        assertThat(test.status()).as(test.output()).isZero();
    }

    @Test
    void every_alert_has_a_test_that_it_fires_and_one_that_it_stays_quiet() throws Exception {
        Set<String> alerts = new TreeSet<>();
        Matcher alert = ALERT.matcher(Files.readString(OPS.resolve("alerts.yml")));
        while (alert.find()) {
            alerts.add(alert.group(1));
        }
        assertThat(alerts).hasSizeGreaterThan(15);

        Set<String> firing = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        Matcher test = ALERT_TEST.matcher(Files.readString(OPS.resolve("alerts-test.yml")));
        while (test.find()) {
            (test.group(2) == null ? firing : quiet).add(test.group(1));
        }
        assertThat(firing).as("alerts with a test that they fire past their threshold").containsAll(alerts);
        assertThat(quiet).as("alerts with a test that they stay quiet below it").containsAll(alerts);
    }

    @Test
    void every_metric_the_alerts_and_the_grafana_dashboard_name_is_published() throws Exception {
        Set<String> named = new TreeSet<>();
        named.addAll(metricsIn(Files.readString(OPS.resolve("alerts.yml"))));
        named.addAll(metricsIn(Files.readString(OPS.resolve("grafana-dashboard.json"))));
        assertThat(named).hasSizeGreaterThan(15);

        String prefix = TestRedis.newPrefix(); // an instance with Redis, for the Redis tier's series too,
        TestServer.get(); // on the shared database, whose pg_stat_statements has the statements' series
        var env = new java.util.HashMap<>(TestRedis.get().env(prefix));
        env.put("PARLEY_ADMIN_SAMPLE", "200ms");
        try (Parley parley = TestServer.alongside(TestServer.DATABASE, env)) {
            Api api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("ops").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText(); // every request and cache series
            api.getOk("/v1/conversations/" + conversation + "/messages");
            api.get("/v1/conversations/999/messages");
            String metrics = Wait.forValue("a reading of PostgreSQL and its statements", Duration.ofSeconds(10), () -> {
                String now = TestServer.metrics(api);
                return now.contains("parley_db_table_bytes{") && now.contains("parley_db_statement_time_seconds{")
                        ? java.util.Optional.of(now) : java.util.Optional.empty();
            });

            Set<String> published = new TreeSet<>();
            for (String line : metrics.lines().filter(l -> !l.startsWith("#")).toList()) {
                published.add(line.split("[{ ]", 2)[0]);
            }
            assertThat(published).containsAll(named);
        } finally {
            TestRedis.get().forget(prefix);
        }
    }

    private static Set<String> metricsIn(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
