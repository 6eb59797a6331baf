package dev.parley.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The analytics routes over real HTTP, checked against counts taken directly from the tables. */
class AnalyticsApiTest {
    private final Api api = TestServer.newApp();
    private final String today = LocalDate.now(ZoneOffset.UTC).toString();
    private final String range = "?from=" + LocalDate.now(ZoneOffset.UTC).minusDays(1) + "&to="
            + LocalDate.now(ZoneOffset.UTC).plusDays(1);

    @Test
    void after_a_refresh_the_figures_equal_a_direct_count() throws SQLException {
        String mira = Fixtures.character(api, "Mira");
        String kai = Fixtures.character(api, "Kai");
        String ann = Fixtures.user(api, "ann-" + System.nanoTime());
        String bob = Fixtures.user(api, "bob-" + System.nanoTime());
        String first = Fixtures.conversation(api, ann, mira);
        String second = Fixtures.conversation(api, bob, kai);
        Fixtures.conversation(api, bob, mira); // started, never written to
        talk(first, 3);
        talk(second, 2);
        Fixtures.say(api, first, "system", "be kind");

        api.postOk(200, "/v1/analytics/refresh", null);

        long app = appOf(first);
        Map<String, Long> byCharacter = new HashMap<>();
        for (JsonNode row : api.getOk("/v1/analytics/characters/messages" + range).get("days")) {
            assertThat(row.get("day").asText()).isEqualTo(today);
            byCharacter.put(row.get("character_id").asText(), row.get("messages").asLong());
        }
        assertThat(byCharacter).isEqualTo(Map.of(
                mira, count("SELECT count(*) FROM messages WHERE app_id = ? AND author_character_id = " + mira, app),
                kai, count("SELECT count(*) FROM messages WHERE app_id = ? AND author_character_id = " + kai, app)));
        assertThat(byCharacter.get(mira)).isEqualTo(3);
        assertThat(single(api.getOk("/v1/analytics/users/daily-active" + range), "periods", "users"))
                .isEqualTo(count("SELECT count(DISTINCT user_id) FROM messages WHERE app_id = ? AND role = 'user'", app))
                .isEqualTo(2);
        assertThat(single(api.getOk("/v1/analytics/users/monthly-active" + range), "periods", "users")).isEqualTo(2);
        assertThat(single(api.getOk("/v1/analytics/conversations/started" + range), "days", "conversations"))
                .isEqualTo(count("SELECT count(*) FROM conversations WHERE app_id = ?", app))
                .isEqualTo(3);
        JsonNode roles = api.getOk("/v1/analytics/conversations/" + first + "/roles");
        assertThat(roles.get("roles")).extracting(r -> r.get("role").asText() + "=" + r.get("messages").asLong())
                .containsExactly("assistant=3", "system=1", "user=3");
    }

    @Test
    void figures_stay_as_of_the_last_refresh_until_the_next() {
        String conversation = Fixtures.conversation(api).get("id").asText();
        talk(conversation, 1);
        api.postOk(200, "/v1/analytics/refresh", null);
        talk(conversation, 2);

        JsonNode before = api.getOk("/v1/analytics/conversations/" + conversation + "/roles");
        JsonNode refreshed = api.postOk(200, "/v1/analytics/refresh", null);
        JsonNode after = api.getOk("/v1/analytics/conversations/" + conversation + "/roles");

        assertThat(before.get("roles").get(0).get("messages").asLong()).isEqualTo(1);
        assertThat(after.get("roles").get(0).get("messages").asLong()).isEqualTo(3);
        assertThat(after.get("refreshed_at").asText()).isEqualTo(refreshed.get("refreshed_at").asText());
        assertThat(refreshed.get("took_ms").asLong()).isNotNegative();
    }

    @Test
    void a_read_during_a_refresh_is_answered_without_waiting_for_it() throws Exception {
        String conversation = Fixtures.conversation(api).get("id").asText();
        talk(conversation, 1);
        try (Connection refreshing = TestDatabase.get().connect(TestServer.DATABASE)) {
            refreshing.setAutoCommit(false);
            try (var statement = refreshing.createStatement()) {
                for (var view : AnalyticsRefresh.VIEWS) { // the production statements, their locks held until commit
                    statement.execute(view.sql());
                }
            }

            var reads = List.of(
                    CompletableFuture.supplyAsync(() -> api.get("/v1/analytics/characters/messages" + range).status()),
                    CompletableFuture.supplyAsync(() -> api.get("/v1/analytics/users/daily-active" + range).status()),
                    CompletableFuture.supplyAsync(() -> api.get("/v1/analytics/users/monthly-active" + range).status()),
                    CompletableFuture.supplyAsync(() -> api.get("/v1/analytics/conversations/started" + range).status()),
                    CompletableFuture.supplyAsync(() -> api.get("/v1/analytics/conversations/" + conversation + "/roles").status()));

            for (var read : reads) {
                assertThat(read.get(5, TimeUnit.SECONDS)).isEqualTo(200); // a plain REFRESH would hold them until commit
            }
            refreshing.commit();
        }
    }

    @Test
    void a_reversed_or_overlong_or_malformed_range_is_refused_naming_the_parameter() {
        assertProblem(api.get("/v1/analytics/users/daily-active?from=2026-03-10&to=2026-03-09"), "to");
        assertProblem(api.get("/v1/analytics/conversations/started?from=2025-01-01&to=2026-01-02"), "to");
        assertProblem(api.get("/v1/analytics/characters/messages?from=2026-3-1"), "from");
        assertProblem(api.get("/v1/analytics/users/monthly-active?to=yesterday"), "to");
        // Years Java reads but no date arithmetic (PostgreSQL's dates end in 5874897) survives: a 400, not a 500.
        assertProblem(api.get("/v1/analytics/users/daily-active?from=%2B999999999-12-30&to=%2B999999999-12-31"), "to");
        assertProblem(api.get("/v1/analytics/conversations/started?from=-999999999-01-01&to=-999999999-01-02"), "to");
        assertProblem(api.get("/v1/analytics/characters/messages?from=%2B10000-01-01&to=%2B10000-01-02"), "to");
        assertThat(api.get("/v1/analytics/users/daily-active?from=2025-01-01&to=2026-01-01").status()).isEqualTo(200);
        assertThat(api.get("/v1/analytics/users/daily-active?from=9999-12-01&to=9999-12-31").status()).isEqualTo(200);
        assertThat(api.get("/v1/analytics/users/daily-active?from=0001-01-01&to=0001-01-31").status()).isEqualTo(200);
    }

    /** A range too long or reversed only because to defaults to today names from, the parameter the client sent. */
    @Test
    void a_range_that_is_wrong_with_the_default_to_names_from() {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);

        var tooLong = api.get("/v1/analytics/users/daily-active?from=" + today.minusDays(400));
        var future = api.get("/v1/analytics/users/daily-active?from=" + today.plusDays(10));

        assertProblem(tooLong, "from");
        assertThat(tooLong.json().get("detail").asText()).as(tooLong.toString())
                .contains("401 days").contains("from " + today.minusDays(400) + " to ").contains("today").contains("366");
        assertProblem(future, "from");
        assertThat(future.json().get("detail").asText()).as(future.toString()).contains("today");
        assertProblem(api.get("/v1/analytics/users/daily-active?from=" + today.minusDays(400) + "&to=" + today), "to");
    }

    @Test
    void an_app_sees_only_its_own_figures() {
        String conversation = Fixtures.conversation(api).get("id").asText();
        talk(conversation, 2);
        api.postOk(200, "/v1/analytics/refresh", null);
        Api other = TestServer.newApp();

        assertThat(other.getOk("/v1/analytics/characters/messages" + range).get("days")).isEmpty();
        assertThat(other.getOk("/v1/analytics/users/daily-active" + range).get("periods")).isEmpty();
        assertThat(other.getOk("/v1/analytics/conversations/started" + range).get("days")).isEmpty();
        assertThat(other.get("/v1/analytics/conversations/" + conversation + "/roles").status()).isEqualTo(404);
        assertThat(api.getOk("/v1/analytics/conversations/started" + range).get("days")).hasSize(1);
    }

    private void talk(String conversation, int turns) {
        for (int i = 0; i < turns; i++) {
            Fixtures.say(api, conversation, "user", "hello " + i);
            Fixtures.say(api, conversation, "assistant", "hi " + i);
        }
    }

    private static long single(JsonNode answer, String rows, String field) {
        assertThat(answer.get(rows)).hasSize(1);
        return answer.get(rows).get(0).get(field).asLong();
    }

    private static void assertProblem(Api.Response response, String field) {
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo(field);
    }

    private static long appOf(String conversation) throws SQLException {
        return count("SELECT app_id FROM conversations WHERE conversation_id = ?", Long.parseLong(conversation));
    }

    private static long count(String sql, long arg) throws SQLException {
        try (Connection connection = TestDatabase.get().connect(TestServer.DATABASE);
             var statement = connection.prepareStatement(sql)) {
            statement.setLong(1, arg);
            try (var rows = statement.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }
}
