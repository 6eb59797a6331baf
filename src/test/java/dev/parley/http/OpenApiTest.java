package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OpenApiTest {
    @Test
    void every_served_endpoint_is_in_the_document_and_nothing_else_is() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        Set<String> documented = new HashSet<>();
        document.get("paths").fields().forEachRemaining(path -> path.getValue().fieldNames()
                .forEachRemaining(method -> documented.add(method.toUpperCase(java.util.Locale.ROOT) + " " + path.getKey())));

        assertThat(document.get("openapi").asText()).isEqualTo("3.1.0");
        assertThat(documented).containsExactlyInAnyOrderElementsOf(TestServer.get().endpoints());
    }

    @Test
    void every_operation_states_the_request_id_header_and_the_import_its_ndjson_body() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        document.get("paths").forEach(item -> item.forEach(operation -> {
            String id = operation.get("operationId").asText();
            assertThat(operation.get("parameters").findValuesAsText("name")).as(id).contains("X-Request-Id");
            operation.get("responses").forEach(response -> assertThat(response.path("headers").has("X-Request-Id")).as(id).isTrue());
        }));
        JsonNode importing = document.get("paths").get("/v1/import").get("post");
        assertThat(importing.get("requestBody").get("content").has("application/x-ndjson")).isTrue();
        assertThat(document.get("components").get("schemas").get("Problem").get("properties").has("request_id")).isTrue();
    }

    @Test
    void a_recall_states_its_409_as_a_scope_past_the_limit_and_a_memory_write_names_it_among_its_conflicts() {
        JsonNode paths = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json").get("paths");

        String recall = paths.get("/v1/users/{user_id}/memories/recall").get("post").get("responses").get("409").get("description").asText();
        String write = paths.get("/v1/users/{user_id}/memories").get("post").get("responses").get("409").get("description").asText();

        assertThat(recall).contains("memory-scope-full").doesNotContain("the change");
        assertThat(write).contains("a memory scope is full");
    }

    /** A 204 has no body, so none is described: a client generated from the document would read one that never comes. */
    @Test
    void no_204_describes_a_body_and_a_hard_delete_of_a_message_answers_204() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        List<String> with = new ArrayList<>();
        document.get("paths").forEachEntry((path, item) -> item.forEachEntry((method, operation) -> {
            JsonNode noContent = operation.path("responses").path("204");
            if (noContent.has("content")) {
                with.add(method + " " + path);
            }
        }));
        assertThat(with).isEmpty();
        assertThat(document.at("/paths/~1v1~1conversations~1{conversation_id}~1messages~1{message_id}/delete/responses/204")
                .isMissingNode()).isFalse();
    }

    @Test
    void every_reference_resolves() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        Set<String> refs = new HashSet<>();
        collectRefs(document, refs);
        for (String ref : refs) {
            assertThat(ref).startsWith("#/components/");
            assertThat(document.at(ref.substring(1)).isObject()).as(ref).isTrue();
        }
        assertThat(refs).contains("#/components/schemas/Message", "#/components/schemas/Problem",
                "#/components/headers/RateLimit-Limit");
    }

    @Test
    void the_json_fields_a_request_takes_as_objects_are_objects_and_attachments_any_value() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        Set<String> objects = Set.of("state", "traits", "metadata", "profile");
        Set<String> checked = new HashSet<>();
        document.get("paths").forEach(item -> item.forEach(operation -> {
            JsonNode body = operation.at("/requestBody/content/application~1json/schema");
            if (body.isMissingNode()) {
                return;
            }
            String name = body.get("$ref").asText().substring("#/components/schemas/".length());
            document.get("components").get("schemas").get(name).get("properties").fields().forEachRemaining(property -> {
                String field = name + "." + property.getKey();
                JsonNode type = property.getValue().path("type");
                if (objects.contains(property.getKey())) {
                    checked.add(property.getKey());
                    assertThat(type.isArray() ? type.toString() : "[\"" + type.asText() + "\"]").as(field)
                            .isIn("[\"object\"]", "[\"object\",\"null\"]");
                    // Without it, a generator (openapi-typescript) types the field as an empty object.
                    assertThat(property.getValue().path("additionalProperties").asBoolean()).as(field + " takes any keys").isTrue();
                } else if (property.getKey().equals("attachments")) {
                    assertThat(type.isMissingNode()).as(field + " takes any JSON value").isTrue();
                }
            });
        }));
        assertThat(checked).isEqualTo(objects);
    }

    /**
     * A client that checks its requests against the document sends no string the server refuses for its length: each
     * text a body takes, and each text item of a list, has the server's maxLength (RequestBoundsTest sends it). Ids,
     * times and languages are bounded by what they must be.
     */
    @Test
    void every_text_a_request_body_takes_has_its_max_length() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        JsonNode schemas = document.get("components").get("schemas");
        Set<String> unbounded = new java.util.TreeSet<>();
        document.get("paths").forEach(item -> item.forEach(operation -> {
            JsonNode body = operation.at("/requestBody/content/application~1json/schema");
            if (body.isMissingNode()) {
                return;
            }
            String name = body.get("$ref").asText().substring("#/components/schemas/".length());
            schemas.get(name).get("properties").fields().forEachRemaining(property -> {
                JsonNode field = property.getValue();
                JsonNode text = field.path("type").toString().contains("array") ? field.path("items") : field;
                boolean free = text.path("type").toString().contains("string") && !text.has("enum")
                        && !text.path("description").asText().startsWith("an id")
                        && !Set.of("created_at", "language").contains(property.getKey());
                if (free && !text.has("maxLength")) {
                    unbounded.add(name + "." + property.getKey());
                }
            });
        }));
        assertThat(unbounded).isEmpty();
    }

    @Test
    void a_patch_body_takes_at_least_one_field_and_no_null_where_the_server_refuses_one() {
        JsonNode schemas = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json")
                .get("components").get("schemas");

        for (String patch : List.of("CharacterPatch", "MemoryPatch", "MessageEdit")) {
            assertThat(schemas.get(patch).path("minProperties").asInt()).as(patch).isEqualTo(1);
        }
        assertThat(schemas.at("/CharacterPatch/properties/traits/type").toString()).isEqualTo("[\"object\"]");
        assertThat(schemas.at("/MemoryPatch/properties/metadata/type").toString()).isEqualTo("[\"object\"]");
        assertThat(schemas.at("/MessageEdit/properties/metadata/type").toString()).as("null clears a message's metadata")
                .isEqualTo("[\"object\",\"null\"]");
    }

    private static void collectRefs(JsonNode node, Set<String> refs) {
        if (node.has("$ref")) {
            refs.add(node.get("$ref").asText());
        }
        node.forEach(child -> collectRefs(child, refs));
    }
}
