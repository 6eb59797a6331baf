package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every route, called with another app's key on the first app's data, must not reach that data. */
class TenancyTest {
    private final Api owner = TestServer.newApp();
    private final ApiSamples samples = new ApiSamples(owner);
    private final Api stranger = TestServer.newApp();

    @Test
    void another_apps_key_reaches_nothing_on_any_route() {
        List<String> checked = new ArrayList<>();
        for (ApiSamples.Call call : samples.calls()) {
            if (!samples.isAuthenticated(call.operationId())) {
                continue;
            }
            Api.Response response = send(stranger, call);
            String what = call.operationId() + " " + call.method() + " " + call.path() + " -> " + response;
            switch (call.operationId()) {
                // Collections: the stranger sees only its own (empty) data.
                case "listCharacters" -> assertThat(response.json().get("characters")).as(what)
                        .extracting(c -> c.get("id").asText()).doesNotContain(samples.ids.get("character_id"));
                case "listConversations" -> assertThat(response.json().get("conversations")).as(what).isEmpty();
                case "getLeaderboard" -> assertThat(response.json().get("entries")).as(what).isEmpty();
                case "getAppStats" -> assertThat(response.status()).as(what).isEqualTo(200);
                // The owner's messages of the last minute are not the stranger's.
                case "getAppMessageStats" -> assertThat(response.json().get("messages").asLong()).as(what).isZero();
                // Analytics of the stranger's own (empty) app; a refresh is of every app's views, and answers no one's rows.
                case "getCharacterMessagesPerDay", "getConversationsStarted" ->
                        assertThat(response.json().get("days")).as(what).isEmpty();
                case "getDailyActiveUsers", "getMonthlyActiveUsers" -> assertThat(response.json().get("periods")).as(what).isEmpty();
                case "refreshAnalytics" -> assertThat(response.status()).as(what).isEqualTo(200);
                // Creating in its own app is allowed, and must not touch the owner's rows.
                case "createCharacter" -> assertThat(response.status()).as(what).isEqualTo(201);
                case "upsertUser" -> {
                    assertThat(response.status()).as(what + " (a new user in its own app)").isEqualTo(201);
                    assertThat(response.json().get("id").asText()).isNotEqualTo(samples.ids.get("user_id"));
                }
                // Referring to the owner's rows from the stranger's app is refused as unknown.
                case "createConversation" -> {
                    assertThat(response.status()).as(what).isEqualTo(400);
                    assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("user_id");
                }
                // Searching by the owner's user id: that user does not exist in the stranger's app.
                case "searchMessages", "searchMemories" -> {
                    assertThat(response.status()).as(what).isEqualTo(404);
                    assertThat(response.json().get("detail").asText()).as(what).contains("user " + samples.ids.get("user_id"));
                }
                // An app's own setting: the stranger reads and sets its own, never the owner's (checked below).
                case "getRetention", "setRetention" -> assertThat(response.status()).as(what).isEqualTo(200);
                // An import makes rows in the stranger's own app, whatever external ids it names.
                case "importLines" -> {
                    var imported = stranger.sendBytes("POST", "/v1/import", (Json.write(Map.of("type", "user", "external_id",
                                    samples.externalId + "-import")) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            "Content-Type", "application/x-ndjson");
                    assertThat(imported.json().get("imported").get("users").asLong()).as(what).isEqualTo(1);
                    assertThat(owner.get("/v1/users?external_id=" + samples.externalId + "-import").status()).as(what).isEqualTo(404);
                }
                // The stranger may have its own user with that external id (upsertUser above), never the owner's.
                case "findUser" -> assertThat(response.status() == 404
                        || !response.json().get("id").asText().equals(samples.ids.get("user_id"))).as(what).isTrue();
                default -> {
                    assertThat(call.template()).as(what + ": an unchecked route without ids").contains("{");
                    assertThat(response.status()).as(what).isEqualTo(404);
                    assertThat(response.isProblem()).as(what).isTrue();
                }
            }
            checked.add(call.operationId());
        }
        assertThat(checked).hasSizeGreaterThanOrEqualTo(25);
        assertOwnerDataUntouched();
    }

    @Test
    void without_a_valid_key_every_api_route_answers_401() {
        for (ApiSamples.Call call : samples.calls()) {
            if (!samples.isAuthenticated(call.operationId())) {
                continue;
            }
            for (String key : new String[] {null, "pk_forged", "pk_" + "A".repeat(43)}) {
                Api.Response response = send(owner.withKey(key), call);
                assertThat(response.status()).as(call.operationId() + " with key " + key).isEqualTo(401);
                assertThat(response.isProblem()).isTrue();
                assertThat(response.header("WWW-Authenticate")).startsWith("Bearer");
            }
        }
    }

    private void assertOwnerDataUntouched() {
        JsonNode conversation = owner.getOk("/v1/conversations/" + samples.ids.get("conversation_id"));
        assertThat(conversation.get("message_count").asLong()).isEqualTo(2);
        assertThat(conversation.get("counters").isEmpty()).isTrue();
        JsonNode character = owner.getOk("/v1/characters/" + samples.ids.get("character_id"));
        assertThat(character.get("name").asText()).isEqualTo("Owner's character");
    }

    static Api.Response send(Api api, ApiSamples.Call call) {
        return switch (call.method()) {
            case "GET" -> api.get(call.path());
            case "DELETE" -> api.delete(call.path());
            case "POST" -> api.post(call.path(), call.body());
            case "PATCH" -> api.patch(call.path(), call.body());
            case "PUT" -> api.put(call.path(), call.body());
            default -> throw new AssertionError("no sender for " + call.method());
        };
    }
}
