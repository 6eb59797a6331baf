package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void metrics_name_each_statement_and_each_route_template_never_a_raw_path() {
        Api api = TestServer.newApp();
        String conversation = Fixtures.conversation(api).get("id").asText();
        Fixtures.say(api, conversation, "user", "hello");
        api.getOk("/v1/conversations/" + conversation + "/messages");
        api.get("/v1/conversations/" + conversation + "/nowhere");
        api.withKey(null).get("/v1/conversations/" + conversation + "/messages"); // refused before routing

        String metrics = TestServer.metrics(api);

        assertThat(metrics)
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"message.history_recent\"")
                .containsPattern("parley_query_seconds_count\\{[^}]*query=\"append.write\"")
                .containsPattern("parley_http_request_seconds_count\\{[^}]*route=\"/v1/conversations/\\{conversation_id}/messages\"")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"/v1/conversations/\\{conversation_id}/messages\",status=\"200\"} [1-9]")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"unmatched\",status=\"404\"} [1-9]")
                .containsPattern("parley_http_responses_total\\{method=\"GET\",route=\"/v1/conversations/\\{conversation_id}/messages\",status=\"401\"} [1-9]")
                .doesNotContainPattern("route=\"unmatched\",status=\"401\"")
                .contains("parley_append_batch_size_count")
                .doesNotContain("route=\"/v1/conversations/" + conversation);
    }

    /** docs/operations.md says HikariCP's meters are there per pool: they were the request pool's alone. */
    @Test
    void each_pool_has_hikaricps_meters_under_its_own_name() {
        String metrics = TestServer.metrics(TestServer.newApp());

        assertThat(metrics).contains("hikaricp_connections_max{pool=\"parley\"} 20.0")
                .contains("hikaricp_connections_max{pool=\"parley-background\"} 4.0")
                .contains("hikaricp_connections_active{pool=\"parley-background\"}");
    }

    @Test
    void recall_reports_hits_and_misses_of_its_vector_cache() {
        Api api = TestServer.newApp();
        JsonNode conversation = Fixtures.conversation(api);
        String user = conversation.get("user_id").asText();
        String character = conversation.get("character_id").asText();
        api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", "likes rain",
                "embedding", List.of(1.0, 0.0)));
        for (int i = 0; i < 2; i++) { // the first loads the scope's vectors, the second finds them held
            api.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id", character,
                    "embedding", List.of(1.0, 0.0)));
        }

        String metrics = TestServer.metrics(api);

        assertThat(metrics)
                .containsPattern("cache_gets_total\\{[^}]*cache=\"recall_vectors\"[^}]*result=\"hit\"[^}]*} [1-9]")
                .containsPattern("cache_gets_total\\{[^}]*cache=\"recall_vectors\"[^}]*result=\"miss\"[^}]*} [1-9]");
    }

    @Test
    void postgresql_statistics_are_sampled_into_metrics_with_tables_partitions_and_named_statements() {
        Api api = TestServer.newApp();
        Fixtures.say(api, Fixtures.conversation(api).get("id").asText(), "user", "hello");

        String metrics = Wait.forValue("a reading of PostgreSQL's statistics", Duration.ofSeconds(10), () -> {
            String now = TestServer.metrics(api);
            return now.contains("parley_db_partition_bytes{") && now.contains("parley_db_statement_calls{") // the last published
                    ? Optional.of(now) : Optional.empty();
        });

        assertThat(metrics)
                .containsPattern("parley_db_connections\\{state=\"active\"} [1-9]") // the reading's own connection at least
                .containsPattern("parley_db_connections\\{state=\"idle_in_transaction\"} ")
                .containsPattern("parley_db_cache_hit_ratio 0\\.\\d+|parley_db_cache_hit_ratio 1\\.0")
                .containsPattern("parley_db_transactions_total\\{outcome=\"commit\"} [1-9]")
                .containsPattern("parley_db_transactions_total\\{outcome=\"rollback\"} ")
                .containsPattern("parley_db_deadlocks_total [0-9]")
                .containsPattern("parley_db_temp_bytes_total [0-9]")
                .containsPattern("parley_db_wal_bytes_total [1-9]")
                .containsPattern("parley_db_size_bytes [1-9]")
                .containsPattern("parley_db_table_bytes\\{schema=\"public\",table=\"messages\"} [1-9]")
                .containsPattern("parley_db_table_bytes\\{schema=\"parley_archive\",table=\"messages\"} ")
                .containsPattern("parley_db_partition_bytes\\{partition=\"messages_\\w+\",schema=\"public\",table=\"messages\"} [1-9]")
                .containsPattern("parley_db_dead_tuple_ratio\\{schema=\"public\",table=\"conversations\"} [0-9]")
                .containsPattern("parley_db_replication_lag_max_seconds 0\\.0")
                .containsPattern("parley_db_statement_time_seconds\\{query=\"[a-z_.]+\"} [0-9]")
                .containsPattern("parley_db_statement_calls\\{query=\"[a-z_.]+\"} [1-9]")
                .containsPattern("parley_query_slow_total [0-9]");
    }

    @Test
    void a_transaction_left_open_and_a_session_waiting_for_its_lock_show_in_the_sampled_metrics() throws Exception {
        Api api = TestServer.newApp();
        try (var holder = TestDatabase.get().connect(TestServer.DATABASE);
             var waiter = TestDatabase.get().connect(TestServer.DATABASE)) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT pg_advisory_xact_lock(4242)");
            var waiting = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try (var statement = waiter.createStatement()) {
                    statement.execute("SELECT pg_advisory_lock(4242)");
                    statement.execute("SELECT pg_advisory_unlock(4242)");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                Wait.until("a lock wait and a transaction open for 2 s", Duration.ofSeconds(15), () -> {
                    String metrics = TestServer.metrics(api);
                    return Pattern.compile("(?m)^parley_db_lock_waits [1-9]").matcher(metrics).find()
                            && Pattern.compile("(?m)^parley_db_oldest_transaction_seconds ([2-9]|[1-9][0-9]+)\\.").matcher(metrics).find();
                });
            } finally {
                holder.rollback();
                waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }
}
