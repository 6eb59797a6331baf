package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/characters?ids=} fetches a batch in one request: the app's own, by id, the unknown ones absent. */
class CharacterBatchTest {
    private final Api api = TestServer.newApp();

    @Test
    void ids_return_those_characters_and_leave_out_unknown_and_other_apps_ids() {
        String luna = Fixtures.character(api, "Luna");
        String kai = Fixtures.character(api, "Kai");
        Fixtures.character(api, "Not asked for");
        String theirs = Fixtures.character(TestServer.newApp(), "Another app's");

        var page = api.getOk("/v1/characters?ids=" + kai + "," + luna + ",987654321," + theirs + "," + kai);

        assertThat(page.get("characters")).extracting(c -> c.get("id").asText()).containsExactly(luna, kai);
        assertThat(page.get("characters").get(1).get("name").asText()).isEqualTo("Kai");
        assertThat(page.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void at_most_a_hundred_ids_each_an_id_and_alone() {
        String hundredAndOne = IntStream.rangeClosed(1, 101).mapToObj(String::valueOf).collect(Collectors.joining(","));

        assertThat(field(api.get("/v1/characters?ids=" + hundredAndOne))).isEqualTo("ids");
        assertThat(field(api.get("/v1/characters?ids=1,x"))).isEqualTo("ids");
        assertThat(field(api.get("/v1/characters?ids=1,,2"))).isEqualTo("ids");
        assertThat(field(api.get("/v1/characters?ids="))).isEqualTo("ids");
        assertThat(field(api.get("/v1/characters?ids=1&limit=5"))).isEqualTo("limit");
        assertThat(field(api.get("/v1/characters?ids=1&traits=%7B%22a%22%3A1%7D"))).isEqualTo("traits");
        assertThat(api.get("/v1/characters?ids=" + hundredAndOne.substring(0, hundredAndOne.lastIndexOf(','))).status())
                .isEqualTo(200);
    }

    private static String field(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }
}
