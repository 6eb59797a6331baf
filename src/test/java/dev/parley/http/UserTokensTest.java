package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * User tokens: minted by the app's backend for one user, they reach that user's conversations, messages,
 * inbox, memories and search, and nothing else. Every operation of the API document is tried with the
 * owner's token and with another user's.
 */
class UserTokensTest {
    private static Api app;
    private static ApiSamples samples;
    private static String owner;

    @BeforeAll
    static void samples() {
        app = TestServer.newApp();
        samples = new ApiSamples(app);
        owner = samples.ids.get("user_id");
    }

    @Test
    void aTokenSaysWhoItIsForAndUntilWhen() {
        Instant before = Instant.now();
        JsonNode issued = app.postOk(201, "/v1/users/" + owner + "/tokens", Map.of("ttl_seconds", 600, "scopes", List.of("read")));
        assertThat(issued.get("token").asText()).startsWith("ut_");
        assertThat(issued.get("user_id").asText()).isEqualTo(owner);
        assertThat(issued.get("scopes")).hasSize(1);
        Instant expires = Instant.parse(issued.get("expires_at").asText());
        assertThat(expires).isBetween(before.plusSeconds(598), Instant.now().plusSeconds(601));

        assertThat(app.post("/v1/users/" + owner + "/tokens", Map.of("ttl_seconds", 59)).status()).isEqualTo(400);
        assertThat(app.post("/v1/users/999999999/tokens", Map.of()).status()).isEqualTo(404);
    }

    @Test
    void theOwnersTokenReachesTheUsersDataAndNothingElse() {
        Api asOwner = app.withKey(token(owner, List.of("read", "write")));
        List<String> wrong = new ArrayList<>();
        // Deletions last: they remove the samples the other calls use.
        var calls = samples.calls().stream().filter(call -> samples.isAuthenticated(call.operationId()))
                .sorted(Comparator.comparing(call -> call.method().equals("DELETE"))).toList();
        for (var call : calls) {
            var response = send(asOwner, call);
            boolean reachable = Routes.FOR_USER_TOKENS.contains(call.operationId());
            boolean ok = reachable ? response.status() < 300 : response.status() == 403;
            if (!ok) {
                wrong.add(call.operationId() + " (" + (reachable ? "its user's data" : "the app's key only") + "): " + response);
            }
        }
        assertThat(wrong).isEmpty();
        assertThat(Routes.FOR_USER_TOKENS).hasSizeGreaterThan(20);
    }

    /** The routes a user token reaches narrowed to its user with user_id: one that names another user is refused (403). */
    private static final java.util.Set<String> NARROWED_BY_USER_ID = java.util.Set.of("listConversations", "searchMessages",
            "searchMemories");

    @Test
    void anotherUsersTokenReachesNoneOfIt() {
        var fresh = new ApiSamples(app); // its own user, conversation, messages and memory
        String stranger = Fixtures.user(app, "stranger-" + System.nanoTime());
        Api asStranger = app.withKey(token(stranger, List.of("read", "write")));
        List<String> reached = new ArrayList<>();
        List<String> answeredOtherwise = new ArrayList<>();
        for (var call : fresh.calls()) {
            if (!fresh.isAuthenticated(call.operationId())) {
                continue;
            }
            var response = send(asStranger, call);
            if (response.status() != 403 && response.status() != 404) {
                reached.add(call.operationId() + ": " + response);
            }
            // as docs/api.md says: another user's data is not found, as an unknown id is; the app key's routes, and a list or
            // search narrowed to someone else, are forbidden
            int expected = fresh.takesUserTokens(call) && !NARROWED_BY_USER_ID.contains(call.operationId()) ? 404 : 403;
            if (response.status() != expected) {
                answeredOtherwise.add(call.operationId() + " answered " + response.status() + ", not " + expected);
            }
        }
        assertThat(reached).as("operations another user's token reached").isEmpty();
        assertThat(answeredOtherwise).isEmpty();
        // ... and the owner's data is all still there.
        assertThat(app.getOk("/v1/conversations/" + fresh.ids.get("conversation_id") + "/messages").get("messages")).hasSize(2);
    }

    /** Refused without naming its user, a list or search is told the parameters that route takes. */
    @Test
    void aListWithoutItsUserIsToldWhatToGive() {
        Api reader = app.withKey(token(owner, List.of("read")));
        var list = reader.get("/v1/conversations");
        var search = reader.get("/v1/search/messages?q=hello");

        assertThat(list.status()).isEqualTo(403);
        assertThat(list.json().get("detail").asText()).contains("user_id=" + owner).doesNotContain("conversation_id");
        assertThat(search.status()).isEqualTo(403);
        assertThat(search.json().get("detail").asText()).contains("user_id=" + owner).contains("conversation_id");
    }

    @Test
    void aReadTokenCannotWriteAndATamperedOneIsRefused() {
        String conversation = samples.ids.get("conversation_id");
        Api reader = app.withKey(token(owner, List.of("read")));
        assertThat(reader.get("/v1/conversations/" + conversation + "/messages").status()).isEqualTo(200);
        var write = reader.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "hi"));
        assertThat(write.status()).isEqualTo(403);
        assertThat(write.json().get("detail").asText()).contains("write");

        String token = token(owner, List.of("read", "write"));
        // A character inside the signature: the last one's low bits are base64's padding, and decode alike.
        int at = token.length() - 10;
        String tampered = token.substring(0, at) + (token.charAt(at) == 'A' ? 'B' : 'A') + token.substring(at + 1);
        assertThat(app.withKey(tampered).get("/v1/users/" + owner).status()).isEqualTo(401);
        // A token cannot mint tokens, for its own user or any other.
        assertThat(app.withKey(token).post("/v1/users/" + owner + "/tokens", Map.of()).status()).isEqualTo(403);
        // Another app's user token does not open this app's conversation, even with a user id that matches.
        Api other = TestServer.newApp();
        String otherUser = Fixtures.user(other, "elsewhere");
        String foreign = other.postOk(201, "/v1/users/" + otherUser + "/tokens", Map.of()).get("token").asText();
        assertThat(app.withKey(foreign).get("/v1/conversations/" + conversation).status()).isEqualTo(404);
    }

    /** A recall is a POST that only reads: a read-only token may recall, a write-only one may not read memories so. */
    @Test
    void aRecallTakesTheReadScopeNotTheWriteScope() {
        var recall = samples.calls().stream().filter(call -> call.operationId().equals("recallMemories")).findFirst().orElseThrow();
        var readOnly = send(app.withKey(token(owner, List.of("read"))), recall);
        assertThat(readOnly.status()).as(readOnly.toString()).isEqualTo(200);
        assertThat(readOnly.json().get("memories")).isNotEmpty();

        Api writer = app.withKey(token(owner, List.of("write")));
        var writeOnly = send(writer, recall);
        assertThat(writeOnly.status()).isEqualTo(403);
        assertThat(writeOnly.json().get("detail").asText()).contains("no read scope");
        assertThat(writer.get("/v1/users/" + owner + "/memories").status()).isEqualTo(403);
    }

    /**
     * A token has one spelling: base64url decoding ignores the last character's unused low bits and takes {@code =}
     * padding, so without a check these spelled the same token, and a list or cache keyed by its text was passed.
     */
    @Test
    void aTokenSpelledOtherwiseThanItWasIssuedIsRefusedAsATamperedOne() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        // "r" and "rw" claims differ by a byte, so one of the two payloads is padded when base64 spells it whole.
        String token = java.util.stream.Stream.of(List.of("read"), List.of("read", "write")).map(scopes -> token(owner, scopes))
                .filter(minted -> minted.substring(3, minted.indexOf('.')).length() % 4 != 0).findFirst().orElseThrow();
        String path = "/v1/users/" + owner;
        assertThat(app.withKey(token).get(path).status()).isEqualTo(200);

        String payload = token.substring(0, token.indexOf('.'));
        String signature = token.substring(token.indexOf('.') + 1);
        char last = signature.charAt(signature.length() - 1);
        String lowBit = token.substring(0, token.length() - 1) + alphabet.charAt(alphabet.indexOf(last) ^ 1);
        String paddedSignature = token + "=";
        String paddedPayload = payload + "=".repeat(4 - (payload.length() - 3) % 4) + "." + signature;
        for (String other : List.of(lowBit, paddedSignature, paddedPayload)) {
            var refused = app.withKey(other).get(path);
            assertThat(refused.status()).as(other).isEqualTo(401);
            assertThat(refused.json().get("detail").asText()).contains("not signed by its app");
        }
    }

    @Test
    void aTokenABuildBeforeMillisecondExpiriesIssuedLivesOnUntilItsExpiryInSeconds() throws Exception {
        var clock = new TestClock();
        Parley parley = TestServer.start("parley_user_tokens", Map.of(), clock);
        try {
            var created = parley.apps().create("tokens-from-before");
            Api api = new Api("http://127.0.0.1:" + parley.port(), created.apiKey());
            String user = Fixtures.user(api, "kept-signed-in");
            api.postOk(201, "/v1/users/" + user + "/tokens", Map.of("ttl_seconds", 60)); // the app's secret, as then
            long appId;
            byte[] secret;
            try (var sql = TestDatabase.get().connect("parley_user_tokens"); var rows = sql.createStatement()
                    .executeQuery("SELECT app_id, token_secret FROM apps WHERE name = 'tokens-from-before'")) {
                rows.next();
                appId = rows.getLong(1);
                secret = rows.getBytes(2);
            }
            // As those builds spelled it: the expiry in whole seconds.
            byte[] claims = (appId + "." + user + "." + clock.instant().plusSeconds(60).getEpochSecond() + ".r")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            var mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(secret, "HmacSHA256"));
            var base64 = java.util.Base64.getUrlEncoder().withoutPadding();
            String token = "ut_" + base64.encodeToString(claims) + "." + base64.encodeToString(mac.doFinal(claims));

            assertThat(api.withKey(token).get("/v1/users/" + user).status()).as("not read as 1970").isEqualTo(200);
            clock.advance(Duration.ofSeconds(61));
            assertThat(api.withKey(token).get("/v1/users/" + user).status()).isEqualTo(401);
        } finally {
            parley.close();
        }
    }

    @Test
    void aTokenStopsWorkingWhenItExpires() {
        var clock = new TestClock();
        Parley parley = TestServer.start("parley_user_tokens", Map.of(), clock);
        try {
            var created = parley.apps().create("tokens");
            Api api = new Api("http://127.0.0.1:" + parley.port(), created.apiKey());
            String user = Fixtures.user(api, "expiring");
            String token = api.postOk(201, "/v1/users/" + user + "/tokens", Map.of("ttl_seconds", 60)).get("token").asText();
            assertThat(api.withKey(token).get("/v1/users/" + user).status()).isEqualTo(200);
            clock.advance(Duration.ofSeconds(59));
            assertThat(api.withKey(token).get("/v1/users/" + user).status()).isEqualTo(200);
            clock.advance(Duration.ofSeconds(1));
            var expired = api.withKey(token).get("/v1/users/" + user);
            assertThat(expired.status()).isEqualTo(401);
            assertThat(expired.json().get("detail").asText()).contains("expired");
        } finally {
            parley.close();
        }
    }

    @Test
    void aDeletedAppsTokensStopWorking() {
        String name = "doomed-" + System.nanoTime();
        var created = TestServer.get().apps().create(name);
        Api doomed = new Api(app.base(), created.apiKey());
        String user = Fixtures.user(doomed, "leaving");
        String token = doomed.postOk(201, "/v1/users/" + user + "/tokens", Map.of()).get("token").asText();
        assertThat(doomed.withKey(token).get("/v1/users/" + user).status()).isEqualTo(200);
        TestServer.get().apps().delete(name);
        dev.parley.support.Wait.until("the deleted app's token is refused", Duration.ofSeconds(1),
                () -> doomed.withKey(token).get("/v1/users/" + user).status() == 401);
    }

    /** A leaked key's holder could otherwise mint day-long tokens for every user and keep them past the key's revocation. */
    @Test
    void revokingAKeyEndsTheTokensItMintedAndNoOthers() {
        String name = "rotating-" + System.nanoTime();
        var apps = TestServer.get().apps();
        var created = apps.create(name);
        Api old = new Api(app.base(), created.apiKey());
        String user = Fixtures.user(old, "signed-in");
        var fresh = apps.issueKey(name);
        String fromOld = old.postOk(201, "/v1/users/" + user + "/tokens", Map.of("ttl_seconds", 86_400)).get("token").asText();
        String fromFresh = old.withKey(fresh.key()).postOk(201, "/v1/users/" + user + "/tokens", Map.of()).get("token").asText();
        assertThat(old.withKey(fromOld).get("/v1/users/" + user).status()).isEqualTo(200);

        apps.revokeKey(name, String.valueOf(created.key().id()));

        var refused = old.withKey(fromOld).get("/v1/users/" + user);
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.json().get("detail").asText()).contains("its key was revoked");
        assertThat(old.withKey(fromOld).post("/v1/users/" + user + "/memories", Map.of("content", "still here")).status())
                .isEqualTo(401);
        assertThat(old.withKey(fromFresh).get("/v1/users/" + user).status()).as("minted by the key kept").isEqualTo(200);
    }

    /** Revoked by another process (parley apps keys revoke): the server hears of it over V9's notice, and forgets the key. */
    @Test
    void aKeyRevokedFromTheCommandLineEndsItsTokensOnTheServerWithinASecond() {
        String name = "revoked-elsewhere-" + System.nanoTime();
        var created = TestServer.get().apps().create(name);
        Api api = new Api(app.base(), created.apiKey());
        String user = Fixtures.user(api, "signed-in");
        String token = api.postOk(201, "/v1/users/" + user + "/tokens", Map.of()).get("token").asText();
        assertThat(api.withKey(token).get("/v1/users/" + user).status()).isEqualTo(200); // the key's state now cached

        try (var pool = TestDatabase.pool(TestDatabase.get().target(TestServer.DATABASE), 1)) {
            dev.parley.apps.Apps.forCommands(pool).revokeKey(name, String.valueOf(created.key().id()));
        }

        dev.parley.support.Wait.until("the token of the revoked key to be refused", Duration.ofSeconds(1),
                () -> api.withKey(token).get("/v1/users/" + user).status() == 401);
    }

    private static String token(String userId, List<String> scopes) {
        return app.postOk(201, "/v1/users/" + userId + "/tokens", Map.of("scopes", scopes)).get("token").asText();
    }

    private static Api.Response send(Api api, ApiSamples.Call call) {
        byte[] body = call.body() == null ? null : Json.writeBytes(call.body());
        return api.sendBytes(call.method(), call.path(), body, "Content-Type", "application/json");
    }
}
