package dev.parley.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One app's worth of data and, for every operation in the API document, a request that succeeds
 * for that app. The tenancy and bad-input tests start from these and fail for an operation that
 * has no sample, so a new route cannot skip them.
 */
final class ApiSamples {
    /** A request: method, concrete path (with query), JSON body or null. */
    record Call(String operationId, String method, String template, String path, Object body) {
    }

    static final List<Double> EMBEDDING = List.of(0.6, 0.8, 0.0);

    final Map<String, String> ids = new LinkedHashMap<>();
    final String externalId;
    private final JsonNode document;

    ApiSamples(Api api) {
        externalId = "ext-" + System.nanoTime();
        ids.put("character_id", Fixtures.character(api, "Owner's character"));
        ids.put("user_id", Fixtures.user(api, externalId));
        ids.put("conversation_id", Fixtures.conversation(api, ids.get("user_id"), ids.get("character_id")));
        JsonNode first = Fixtures.say(api, ids.get("conversation_id"), "user", "first");
        ids.put("message_id", first.get("id").asText());
        api.postOk(201, "/v1/conversations/" + ids.get("conversation_id") + "/messages",
                Map.of("role", "assistant", "content", "reply", "reply_to_id", ids.get("message_id")));
        ids.put("memory_id", api.postOk(201, "/v1/users/" + ids.get("user_id") + "/memories", Map.of(
                "character_id", ids.get("character_id"), "content", "likes first snow", "embedding", EMBEDDING)).get("id").asText());
        document = api.getOk("/openapi.json");
    }

    /** Every operation of the document, as a call that would succeed for the owning app. */
    List<Call> calls() {
        List<Call> calls = new java.util.ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields();
        while (paths.hasNext()) {
            var path = paths.next();
            Iterator<Map.Entry<String, JsonNode>> operations = path.getValue().fields();
            while (operations.hasNext()) {
                var operation = operations.next();
                String id = operation.getValue().get("operationId").asText();
                calls.add(new Call(id, operation.getKey().toUpperCase(java.util.Locale.ROOT), path.getKey(),
                        fill(path.getKey()) + query(id), body(id)));
            }
        }
        return calls;
    }

    /** The fields the document gives {@code call}'s JSON body, whether its sample sends them or not. */
    List<String> fields(Call call) {
        List<String> fields = new java.util.ArrayList<>();
        bodySchema(call).path("properties").fieldNames().forEachRemaining(fields::add);
        return fields;
    }

    /** Whether the document lets {@code field} of {@code call}'s JSON body be null. */
    boolean allowsNull(Call call, String field) {
        JsonNode property = bodySchema(call).path("properties").path(field);
        if (property.isMissingNode()) {
            throw new AssertionError(call.operationId() + "'s body has no field " + field + " in the document");
        }
        if (!property.has("type") && !property.has("$ref") && !property.has("oneOf") && !property.has("anyOf")) {
            return true; // any JSON value (a message's attachments), null among them
        }
        List<JsonNode> alternatives = new java.util.ArrayList<>(List.of(property));
        property.path("oneOf").forEach(alternatives::add);
        property.path("anyOf").forEach(alternatives::add);
        return alternatives.stream().anyMatch(a -> a.path("type").asText().equals("null")
                || a.path("type").isArray() && a.path("type").toString().contains("\"null\""));
    }

    private JsonNode bodySchema(Call call) {
        JsonNode schema = operation(call).at("/requestBody/content/application~1json/schema");
        return schema.has("$ref") ? document.at(schema.get("$ref").asText().substring(1)) : schema;
    }

    /** Whether the document lets a user token call {@code call}'s operation (else it takes the app's key alone). */
    boolean takesUserTokens(Call call) {
        return operation(call).path("security").toString().contains("\"userToken\"");
    }

    /** The document's operation for {@code call}. */
    private JsonNode operation(Call call) {
        return document.path("paths").path(call.template()).path(call.method().toLowerCase(java.util.Locale.ROOT));
    }

    boolean isAuthenticated(String operationId) {
        return !List.of("getHealth", "getLiveness", "getReadiness", "getOpenApi").contains(operationId);
    }

    /** The call's path with {@code value} in place of path parameter {@code param} (ids elsewhere untouched). */
    String pathWith(Call call, String param, String value) {
        String rest = call.path().substring(fill(call.template()).length()); // the query string
        return fill(call.template().replace("{" + param + "}", value)) + rest;
    }

    private String fill(String template) {
        String path = template;
        for (var id : ids.entrySet()) {
            path = path.replace("{" + id.getKey() + "}", id.getValue());
        }
        return path;
    }

    private String query(String operationId) {
        return switch (operationId) {
            case "findUser" -> "?external_id=" + externalId;
            case "listConversations" -> "?character_id=" + ids.get("character_id") + "&user_id=" + ids.get("user_id");
            case "listMemories" -> "?character_id=" + ids.get("character_id");
            case "searchMessages", "searchMemories" -> "?q=first&user_id=" + ids.get("user_id");
            case "warmUser" -> "?limit=5&messages=20";
            case "getLeaderboard", "getUserRank" -> "?counter=xp";
            default -> "";
        };
    }

    Object body(String operationId) {
        return switch (operationId) {
            case "createCharacter" -> Map.of("name", "Another");
            case "updateCharacter" -> Map.of("name", "Renamed");
            case "upsertUser" -> Map.of("external_id", externalId);
            case "patchUser" -> Map.of("profile", Map.of("plan", "pro"));
            case "createConversation" -> Map.of("user_id", ids.get("user_id"), "character_id", ids.get("character_id"));
            case "patchConversation" -> Map.of("state", Map.of("k", "v"));
            case "incrementCounters" -> Map.of("increments", Map.of("affection", 1));
            case "incrementUserCounters" -> Map.of("increments", Map.of("xp", 1));
            case "markRead" -> Map.of("message_id", ids.get("message_id"));
            case "addMember" -> Map.of("character_id", ids.get("character_id"));
            case "appendMessage" -> Map.of("content", "hello");
            case "appendMessages" -> Map.of("messages", List.of(Map.of("content", "hello")));
            case "editMessage" -> Map.of("content", "edited");
            case "createMemory" -> Map.of("character_id", ids.get("character_id"), "content", "has a cat", "embedding", EMBEDDING);
            case "createMemories" -> Map.of("memories", List.of(Map.of("character_id", ids.get("character_id"), "content", "has a cat")));
            case "updateMemory" -> Map.of("importance", 0.9);
            case "recallMemories" -> Map.of("character_id", ids.get("character_id"), "embedding", EMBEDDING,
                    "conversation_id", ids.get("conversation_id"));
            case "buildContext" -> Map.of("memory_embedding", EMBEDDING);
            case "setTyping" -> Map.of("user_id", ids.get("user_id"));
            case "setPresence" -> Map.of("status", "online");
            case "setRetention" -> Map.of("message_days", 365);
            case "createUserToken" -> Map.of("ttl_seconds", 600);
            default -> null;
        };
    }
}
