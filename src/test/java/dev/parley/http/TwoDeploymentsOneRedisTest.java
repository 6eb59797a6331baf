package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestRedis;
import dev.parley.support.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two deployments, each of its own database, that share one Redis and one key prefix (the default one, say): their
 * ids overlap, each database having its app 1, its character 1 and its user 1, so the keys must tell the databases
 * apart.
 */
class TwoDeploymentsOneRedisTest {
    @Test
    void two_databases_sharing_a_redis_and_a_prefix_never_serve_each_others_views_or_typing() throws Exception {
        String prefix = TestRedis.newPrefix();
        Map<String, String> env = TestRedis.get().env(prefix);
        try (Parley first = TestServer.start("parley_deployment_one", env);
             Parley second = TestServer.start("parley_deployment_two", env)) {
            var one = new Api("http://127.0.0.1:" + first.port(), first.apps().create("same-name").apiKey());
            var two = new Api("http://127.0.0.1:" + second.port(), second.apps().create("same-name").apiKey());
            String luna = Fixtures.character(one, "Luna");
            String orion = Fixtures.character(two, "Orion");
            assertThat(orion).as("each database's first character: the same id").isEqualTo(luna);
            String ann = Fixtures.user(one, "ann");
            String bob = Fixtures.user(two, "bob");
            assertThat(bob).isEqualTo(ann);

            assertThat(one.getOk("/v1/characters/" + luna).get("name").asText()).isEqualTo("Luna"); // now in Redis
            assertThat(two.getOk("/v1/characters/" + orion).get("name").asText()).isEqualTo("Orion");
            assertThat(one.getOk("/v1/characters/" + luna).get("name").asText()).isEqualTo("Luna");
            assertThat(one.put("/v1/users/" + ann + "/presence", Map.of("status", "online")).status()).isEqualTo(200);
            assertThat(two.getOk("/v1/users/" + bob + "/presence").get("status").asText())
                    .as("ann's presence is not bob's, though each is user " + ann + " of their database").isEqualTo("offline");
        } finally {
            TestRedis.get().forget(prefix);
        }
    }
}
