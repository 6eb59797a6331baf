package dev.parley;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.TestServer;
import dev.parley.support.Tools;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The clients in clients/ run their own test programs against a real Parley: a chat app's turn (character, user,
 * conversation, idempotent appends, history and inbox through their cursors, search, a memory recalled, the
 * context, a 404 and a 400 as the client's error) and their Retry-After retries against a local server. The
 * TypeScript one first proves its committed src/schema.ts is what this server's document generates, then builds
 * under tsc --strict.
 */
class ClientsTest {
    private static final Path CLIENTS = Path.of("clients");
    private final Api api = TestServer.newApp();

    @Test
    void the_python_client_runs_a_chat_program_against_parley() throws Exception {
        Path python = Tools.require("python3", "python3");

        var run = Tools.run(CLIENTS.resolve("python"), env("PYTHONDONTWRITEBYTECODE", "1"), Duration.ofMinutes(1),
                python.toString(), "-m", "unittest", "-v", "test_parley_client");

        assertThat(run.status()).as(run.output()).isZero();
    }

    @Test
    void the_typescript_client_is_current_with_the_document_type_checks_and_runs_a_chat_program_against_parley() throws Exception {
        Tools.require("node", "nodejs");
        Path npm = Tools.require("npm", "npm");
        Path typescript = CLIENTS.resolve("typescript");
        Tools.npmCi(typescript, npm);

        var run = Tools.run(typescript, env("NO_COLOR", "1"), Duration.ofMinutes(2), npm.toString(), "test");

        assertThat(run.status()).as(run.output()).isZero();
    }

    private Map<String, String> env(String name, String value) {
        return Map.of("PARLEY_URL", api.base(), "PARLEY_KEY", api.key(), name, value);
    }
}
