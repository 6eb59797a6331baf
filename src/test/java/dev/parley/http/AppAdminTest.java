package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The admin port's /admin/apps routes on two instances of one database: apps, keys and origins managed
 * through the first, and every change followed by the second within a second.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AppAdminTest {
    private static final String DATABASE = "parley_app_admin";
    private static final String ADMIN_KEY = "admin-key-for-the-app-tests-0123456789";
    private static final Duration BOUND = Duration.ofSeconds(1);
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private Parley first;
    private Parley second;
    private Api admin;

    @BeforeAll
    void start() {
        Map<String, String> env = Map.of("PARLEY_ADMIN_KEY", ADMIN_KEY);
        first = TestServer.start(DATABASE, env);
        second = TestServer.alongside(DATABASE, env);
        admin = new Api("http://127.0.0.1:" + first.adminPort(), ADMIN_KEY);
    }

    @AfterAll
    void stop() {
        second.close();
        first.close();
    }

    @Test
    void the_app_routes_want_the_admin_key() {
        String key = create("guarded").get("key").get("key").asText();
        for (String[] route : new String[][] {{"GET", "/admin/apps"}, {"POST", "/admin/apps"}, {"DELETE", "/admin/apps/guarded"},
                {"GET", "/admin/apps/guarded/keys"}, {"POST", "/admin/apps/guarded/keys"}, {"DELETE", "/admin/apps/guarded/keys/1"},
                {"PUT", "/admin/apps/guarded/cors"}}) {
            String what = route[0] + " " + route[1];
            assertThat(admin.withKey(null).sendBytes(route[0], route[1], null).status()).as(what).isEqualTo(401);
            assertThat(admin.withKey(key).sendBytes(route[0], route[1], null).status()).as(what + " with an API key").isEqualTo(401);
        }
        assertThat(admin.getOk("/admin/apps/guarded/keys").get("keys")).hasSize(1);
    }

    @Test
    void an_app_is_created_with_a_key_and_its_key_rotated_by_issuing_then_revoking() {
        JsonNode created = create("rotated");
        String oldKey = created.get("key").get("key").asText();
        String oldId = created.get("key").get("id").asText();
        assertThat(created.get("app").get("name").asText()).isEqualTo("rotated");
        assertThat(created.get("key").get("prefix").asText()).isEqualTo(oldKey.substring(0, 10));
        assertThat(api(first, oldKey).get("/v1/characters").status()).isEqualTo(200);

        JsonNode issued = admin.postOk(201, "/admin/apps/rotated/keys", "");
        String newKey = issued.get("key").asText();
        JsonNode listed = admin.getOk("/admin/apps/rotated/keys").get("keys");
        JsonNode revoked = admin.delete("/admin/apps/rotated/keys/" + oldId).json();

        assertThat(listed).hasSize(2);
        assertThat(listed.toString()).doesNotContain(oldKey).doesNotContain(newKey).contains(issued.get("prefix").asText());
        assertThat(listed.get(0).get("revoked_at").isNull()).isTrue();
        assertThat(revoked.get("id").asText()).isEqualTo(oldId);
        assertThat(revoked.get("revoked_at").isNull()).isFalse();
        assertThat(api(first, oldKey).get("/v1/characters").status()).as("refused at once where it was revoked").isEqualTo(401);
        assertThat(api(first, newKey).get("/v1/characters").status()).isEqualTo(200);
        assertThat(admin.delete("/admin/apps/rotated/keys/" + oldKey.substring(0, 10)).json().get("revoked_at"))
                .as("revoking again, by prefix, changes nothing").isEqualTo(revoked.get("revoked_at"));
        assertThat(admin.getOk("/admin/apps").get("apps").findValues("name").toString()).contains("\"rotated\"");
    }

    @Test
    void client_mistakes_are_4xx_problems_naming_them() {
        create("taken");
        Map<String, Api.Response> mistakes = new LinkedHashMap<>();
        mistakes.put("400 a bad name", admin.post("/admin/apps", Map.of("name", "bad name!")));
        mistakes.put("400 no name", admin.post("/admin/apps", "{}"));
        mistakes.put("400 an unknown field", admin.post("/admin/apps", Map.of("name", "x", "colour", "red")));
        mistakes.put("409 a name taken", admin.post("/admin/apps", Map.of("name", "taken")));
        mistakes.put("404 no such app", admin.get("/admin/apps/nobody/keys"));
        mistakes.put("404 no such app to delete", admin.delete("/admin/apps/nobody"));
        mistakes.put("404 no such key", admin.delete("/admin/apps/taken/keys/999999"));
        mistakes.put("400 not a key's id or prefix", admin.delete("/admin/apps/taken/keys/pk_"));
        mistakes.put("400 no origins", admin.put("/admin/apps/taken/cors", "{}"));

        mistakes.forEach((what, response) -> {
            assertThat(response.status()).as(what + ": " + response).isEqualTo(Integer.parseInt(what.substring(0, 3)));
            assertThat(response.isProblem()).as(what).isTrue();
        });
        assertThat(mistakes.get("400 a bad name").json().get("errors").get(0).get("field").asText()).isEqualTo("name");
        assertThat(mistakes.get("404 no such app").json().get("detail").asText()).contains("nobody");
    }

    @Test
    void a_key_revoked_through_one_instance_is_refused_by_the_other_within_a_second() {
        JsonNode created = create("revoked-across");
        String key = created.get("key").get("key").asText();
        Api onSecond = api(second, key);
        assertThat(api(first, key).get("/v1/characters").status()).isEqualTo(200);
        assertThat(onSecond.get("/v1/characters").status()).as("cached on the second").isEqualTo(200);

        assertThat(admin.delete("/admin/apps/revoked-across/keys/" + created.get("key").get("id").asText()).status()).isEqualTo(200);

        refusedWithinTheBound("the revoked key", onSecond);
    }

    @Test
    void a_deleted_apps_key_is_refused_by_the_other_instance_within_a_second() {
        String key = create("deleted-across").get("key").get("key").asText();
        Api onSecond = api(second, key);
        assertThat(onSecond.get("/v1/characters").status()).as("cached on the second").isEqualTo(200);

        assertThat(admin.delete("/admin/apps/deleted-across").status()).isEqualTo(200);

        refusedWithinTheBound("the deleted app's key", onSecond);
    }

    @Test
    void deleting_an_app_leaves_no_row_of_it_in_any_table_and_another_apps_rows_as_they_were() throws Exception {
        JsonNode doomed = create("doomed");
        JsonNode kept = create("kept");
        chatIn(api(first, doomed.get("key").get("key").asText()));
        chatIn(api(first, kept.get("key").get("key").asText()));
        long doomedId = doomed.get("app").get("id").asLong();
        long keptId = kept.get("app").get("id").asLong();
        archiveACopyOfTheMessagesOf(doomedId, keptId);
        Map<String, Long> keptBefore = rowsByTable(keptId);
        assertThat(rowsByTable(doomedId)).as("the doomed app's rows").containsKeys("public.messages", "parley_archive.messages",
                "public.memories", "public.message_idempotency_keys", "public.conversation_former_members", "public.erasures");

        JsonNode deleted = admin.delete("/admin/apps/doomed").json();

        assertThat(rowsByTable(doomedId)).as("rows of the deleted app").isEmpty();
        assertThat(rowsByTable(keptId)).isEqualTo(keptBefore);
        assertThat(deleted.get("rows").get("api_keys_revoked").asLong()).isEqualTo(1);
        assertThat(deleted.get("rows").get("users").asLong()).isEqualTo(2);
        assertThat(deleted.get("rows").get("messages").asLong()).as("hot and archived").isEqualTo(6);
        assertThat(admin.getOk("/admin/apps").get("apps").findValuesAsText("name")).doesNotContain("doomed").contains("kept");
    }

    @Test
    void origins_set_through_one_instance_are_followed_by_the_other_within_a_second() throws Exception {
        create("browser");
        String origin = "https://browser-" + System.nanoTime() + ".example";
        assertThat(preflight(second, origin).statusCode()).isEqualTo(403);

        admin.put("/admin/apps/browser/cors", Map.of("origins", List.of(origin)));
        Duration allowed = Wait.until("the origin allowed on the second", BOUND, () -> preflight(second, origin).statusCode() == 204);
        admin.put("/admin/apps/browser/cors", Map.of("origins", List.of()));
        Duration refused = Wait.until("the origin refused on the second", BOUND, () -> preflight(second, origin).statusCode() == 403);

        assertThat(allowed).isLessThan(BOUND);
        assertThat(refused).isLessThan(BOUND);
    }

    @Test
    void every_change_through_the_admin_port_leaves_a_log_line_and_no_key_in_it() {
        List<String> keys = new ArrayList<>();
        List<String> lines = AccessLogTest.capture(AppAdminHandlers.class.getName(), () -> {
            JsonNode created = create("traced").get("key");
            keys.add(created.get("key").asText());
            keys.add(admin.postOk(201, "/admin/apps/traced/keys", "").get("key").asText());
            assertThat(admin.delete("/admin/apps/traced/keys/" + created.get("id").asText()).status()).isEqualTo(200);
            return admin.put("/admin/apps/traced/cors", Map.of("origins", List.of("https://traced.example")));
        }).stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();

        assertThat(lines).anySatisfy(line -> assertThat(line).contains("created app 'traced'").contains("from 127.0.0.1"))
                .anySatisfy(line -> assertThat(line).contains("issued key").contains("to app 'traced'"))
                .anySatisfy(line -> assertThat(line).contains("revoked key").contains("of app 'traced'"))
                .anySatisfy(line -> assertThat(line).contains("app 'traced' now allows the browser origins [https://traced.example]"))
                .allSatisfy(line -> assertThat(line).doesNotContain(keys.get(0)).doesNotContain(keys.get(1)));
    }

    private JsonNode create(String name) {
        return admin.postOk(201, "/admin/apps", Map.of("name", name));
    }

    private static Api api(Parley instance, String key) {
        return new Api("http://127.0.0.1:" + instance.port(), key);
    }

    private static void refusedWithinTheBound(String what, Api api) {
        Duration took = Wait.until(what + " refused on the second instance", BOUND, () -> api.get("/v1/characters").status() == 401);
        assertThat(took).as(what).isLessThan(BOUND);
    }

    /**
     * A user's conversation with two messages (one under an Idempotency-Key) and a memory, and a group where a
     * guest spoke and then left: a row in every table an app's chats fill, and an erasure's audit row.
     */
    private static void chatIn(Api api) {
        String character = Fixtures.character(api, "Luna");
        String user = Fixtures.user(api, "owner");
        String guest = Fixtures.user(api, "guest");
        String conversation = Fixtures.conversation(api, user, character);
        Fixtures.say(api, conversation, "user", "hello");
        api.postOk(201, "/v1/conversations/" + conversation + "/messages", Map.of("role", "assistant", "content", "hi"),
                "Idempotency-Key", "once");
        api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", "likes tea",
                "embedding", List.of(1.0, 0.0)));
        Fixtures.join(api, conversation, guest);
        api.postOk(201, "/v1/conversations/" + conversation + "/messages", Map.of("content", "hey", "user_id", guest));
        assertThat(api.delete("/v1/conversations/" + conversation + "/members/users/" + guest).status()).isEqualTo(204);
        String gone = Fixtures.conversation(api, user, character);
        assertThat(api.delete("/v1/conversations/" + gone).status()).isEqualTo(200);
    }

    /** Archived months are copies of hot ones (Archive); planted here in a catch-all partition, as copies of the apps' messages. */
    private static void archiveACopyOfTheMessagesOf(long... appIds) throws SQLException {
        String columns = "app_id, conversation_id, message_id, seq, reply_to_id, author_user_id, author_character_id, created_at, "
                + "edited_at, deleted_at, role, content, metadata, attachments, user_id, language";
        try (Connection sql = TestDatabase.get().connect(DATABASE); var statement = sql.createStatement()) {
            statement.execute("CREATE TABLE IF NOT EXISTS parley_archive.messages_planted PARTITION OF parley_archive.messages DEFAULT");
            for (long appId : appIds) {
                statement.execute("INSERT INTO parley_archive.messages (" + columns + ") SELECT " + columns
                        + " FROM messages WHERE app_id = " + appId);
            }
        }
    }

    /** The app's rows in each table that has an app_id column, for the tables where it has any. */
    private static Map<String, Long> rowsByTable(long appId) throws SQLException {
        Map<String, Long> rows = new LinkedHashMap<>();
        try (Connection sql = TestDatabase.get().connect(DATABASE); var statement = sql.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (var found = statement.executeQuery("""
                    SELECT format('%I.%I', c.table_schema, c.table_name) FROM information_schema.columns c
                      JOIN information_schema.tables t USING (table_schema, table_name)
                     WHERE c.column_name = 'app_id' AND t.table_type = 'BASE TABLE'
                       AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
                     ORDER BY 1""")) {
                while (found.next()) {
                    tables.add(found.getString(1));
                }
            }
            assertThat(tables).contains("public.apps", "public.messages", "parley_archive.messages");
            for (String table : tables) {
                try (var counted = statement.executeQuery("SELECT count(*) FROM " + table + " WHERE app_id = " + appId)) {
                    counted.next();
                    if (counted.getLong(1) > 0) {
                        rows.put(table, counted.getLong(1));
                    }
                }
            }
        }
        return rows;
    }

    private static HttpResponse<Void> preflight(Parley instance, String origin) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + instance.port() + "/v1/characters"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "GET")
                .build(), HttpResponse.BodyHandlers.discarding());
    }
}
