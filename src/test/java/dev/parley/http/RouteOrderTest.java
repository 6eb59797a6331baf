package dev.parley.http;

import static io.javalin.http.HandlerType.GET;
import static io.javalin.http.HandlerType.POST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.support.TestServer;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteOrderTest {
    private static final String HISTORY = "/v1/conversations/{conversation_id}/messages";

    @Test
    void two_templates_overlap_when_one_path_can_match_both() {
        assertThat(RouteOrder.overlap(HISTORY, "/v1/conversations/{id}/messages")).isTrue();
        assertThat(RouteOrder.overlap(HISTORY, "/v1/conversations/latest/messages")).isTrue();
        assertThat(RouteOrder.overlap("/v1/users/{user_id}", "/v1/users/export")).isTrue();
        assertThat(RouteOrder.overlap(HISTORY, "/v1/conversations/{conversation_id}/typing")).isFalse();
        assertThat(RouteOrder.overlap(HISTORY, "/v1/conversations/{conversation_id}")).isFalse();
        assertThat(RouteOrder.overlap("/v1/users", "/v1/users/")).isFalse();
        assertThat(RouteOrder.overlap("/v1/*", "/health")).isTrue();
        assertThat(RouteOrder.overlap("/files/<path>", "/files/a/b")).isTrue();
    }

    @Test
    void the_hot_routes_go_first_in_their_order_and_the_rest_keep_the_tables() {
        List<Route> table = new ArrayList<>();
        table.add(route(GET, "/v1/conversations", "listConversations"));
        table.add(route(GET, "/v1/users/{user_id}", "getUser"));
        table.add(route(POST, HISTORY, "appendMessage"));
        table.add(route(GET, "/v1/conversations/{conversation_id}/typing", "getTyping"));
        table.add(route(GET, HISTORY, "getHistory"));
        table.add(route(GET, "/health", "getHealth"));
        for (String operation : RouteOrder.HOT) {
            if (table.stream().noneMatch(route -> route.operationId().equals(operation))) {
                table.add(route(GET, "/v1/hot/" + operation, operation));
            }
        }

        List<String> order = RouteOrder.hotFirst(table).stream().map(Route::operationId).toList();

        assertThat(order).startsWith(RouteOrder.HOT.toArray(String[]::new));
        assertThat(order.subList(RouteOrder.HOT.size(), order.size())).containsExactly("listConversations", "getHealth");
    }

    @Test
    void a_hot_route_that_an_earlier_route_would_shadow_is_refused() {
        List<Route> table = new ArrayList<>();
        table.add(route(GET, "/v1/conversations/{id}/{what}", "getAnything"));
        table.add(route(GET, HISTORY, "getHistory"));

        assertThatThrownBy(() -> RouteOrder.hotFirst(table))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("GET " + HISTORY + " cannot go first")
                .hasMessageContaining("/v1/conversations/{id}/{what}");
    }

    @Test
    void the_server_hands_javalin_the_history_page_before_any_other_get() {
        List<String> gets = TestServer.get().endpoints().stream().filter(endpoint -> endpoint.startsWith("GET ")).toList();

        assertThat(gets.getFirst()).isEqualTo("GET " + HISTORY);
        assertThat(TestServer.get().endpoints().getFirst()).isEqualTo("GET " + HISTORY);
    }

    private static Route route(HandlerType method, String path, String operationId) {
        return Route.of(method, path, operationId, operationId, ctx -> { });
    }
}
