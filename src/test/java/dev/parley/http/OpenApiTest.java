package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.HashSet;
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
    void every_schema_reference_resolves() {
        JsonNode document = new Api("http://127.0.0.1:" + TestServer.get().port(), null).getOk("/openapi.json");
        Set<String> refs = new HashSet<>();
        collectRefs(document, refs);
        for (String ref : refs) {
            String name = ref.substring("#/components/schemas/".length());
            assertThat(document.get("components").get("schemas").has(name)).as(ref).isTrue();
        }
        assertThat(refs).contains("#/components/schemas/Message", "#/components/schemas/Problem");
    }

    private static void collectRefs(JsonNode node, Set<String> refs) {
        if (node.has("$ref")) {
            refs.add(node.get("$ref").asText());
        }
        node.forEach(child -> collectRefs(child, refs));
    }
}
