package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two Parley instances on one database, each with its own cache. A write through one is seen
 * through the other within a bound (the change is announced when it commits and heard over
 * LISTEN/NOTIFY); and under concurrent writes no reader ever goes back in time, nor sees data older
 * than the bound. {@link TwoInstancesWithRedisTest} runs the same with the two sharing a Redis.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoInstancesTest {
    /** How stale a read through the other instance may be. */
    private static final Duration BOUND = Duration.ofSeconds(1);
    Parley first;
    Parley second;
    Api viaFirst;
    Api viaSecond;

    /** The instances' database, of this class alone. */
    String database() {
        return "parley_two_instances";
    }

    /** Settings both instances start with. */
    Map<String, String> env() {
        return Map.of();
    }

    @BeforeAll
    void start() {
        first = TestServer.start(database(), env());
        second = TestServer.alongside(database(), env());
        String key = first.apps().create("shared").apiKey();
        viaFirst = new Api("http://127.0.0.1:" + first.port(), key);
        viaSecond = new Api("http://127.0.0.1:" + second.port(), key);
    }

    @AfterAll
    void stop() {
        second.close();
        first.close();
    }

    @Test
    void writes_through_one_instance_are_read_through_the_other_within_the_bound() {
        String character = Fixtures.character(viaFirst, "Luna");
        String user = Fixtures.user(viaFirst, "both-" + System.nanoTime());
        String conversation = Fixtures.conversation(viaFirst, user, character);
        String path = "/v1/conversations/" + conversation;
        cacheOnSecond(path + "/messages", path, "/v1/characters/" + character, "/v1/users/" + user + "/inbox");

        String said = Fixtures.say(viaFirst, conversation, "assistant", "across").get("id").asText();
        seenOnSecond("the message", () -> viaSecond.getOk(path + "/messages").get("messages").size() == 1);
        seenOnSecond("the unread count", () -> unread(user) == 1);

        viaFirst.postOk(200, path + "/read", Map.of("message_id", said));
        seenOnSecond("the read marker", () -> unread(user) == 0);

        viaFirst.patch(path, Map.of("state", Map.of("mood", "warm")));
        seenOnSecond("the state", () -> viaSecond.getOk(path).get("state").path("mood").asText().equals("warm"));

        viaFirst.patch("/v1/characters/" + character, Map.of("name", "Nova"));
        seenOnSecond("the character's name", () -> viaSecond.getOk("/v1/characters/" + character).get("name").asText().equals("Nova"));
    }

    @Test
    void under_concurrent_writes_no_reader_goes_back_in_time_or_further_back_than_the_bound() throws Exception {
        String character = Fixtures.character(viaFirst, "Sol");
        List<String> conversations = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            conversations.add(Fixtures.conversation(viaFirst, Fixtures.user(viaFirst, "checker-" + i + "-" + System.nanoTime()), character));
        }
        Map<String, List<long[]>> acknowledged = new ConcurrentHashMap<>(); // conversation -> (seq, nanoTime of the 201)
        conversations.forEach(c -> acknowledged.put(c, new CopyOnWriteArrayList<>()));
        List<String> violations = new CopyOnWriteArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();

        ExecutorService clients = Executors.newFixedThreadPool(6);
        List<Future<?>> running = new ArrayList<>();
        for (int w = 0; w < 2; w++) { // each instance takes the writes of half the conversations
            Api writer = w == 0 ? viaFirst : viaSecond;
            List<String> mine = conversations.subList(2 * w, 2 * w + 2);
            running.add(clients.submit(() -> {
                while (System.nanoTime() < end) {
                    String conversation = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
                    JsonNode message = Fixtures.say(writer, conversation, "user", "tick");
                    acknowledged.get(conversation).add(new long[] {message.get("seq").asLong(), System.nanoTime()});
                }
            }));
        }
        for (int r = 0; r < 4; r++) {
            Api reader = r % 2 == 0 ? viaFirst : viaSecond; // each reader keeps to one instance
            String name = "reader " + r;
            running.add(clients.submit(() -> read(reader, name, conversations, acknowledged, violations, end)));
        }
        for (Future<?> client : running) {
            client.get(30, TimeUnit.SECONDS);
        }
        clients.shutdown();

        assertThat(acknowledged.values().stream().mapToInt(List::size).sum()).as("writes made").isGreaterThan(20);
        assertThat(violations).isEmpty();
    }

    /** Reads latest pages until {@code end}, noting any read older than one before it or than the bound allows. */
    private void read(Api reader, String name, List<String> conversations, Map<String, List<long[]>> acknowledged,
                             List<String> violations, long end) {
        Map<String, Long> newestSeen = new ConcurrentHashMap<>();
        while (System.nanoTime() < end) {
            String conversation = conversations.get(ThreadLocalRandom.current().nextInt(conversations.size()));
            long began = System.nanoTime();
            JsonNode messages = reader.getOk("/v1/conversations/" + conversation + "/messages?limit=1").get("messages");
            long seq = messages.isEmpty() ? 0 : messages.get(0).get("seq").asLong();
            long before = newestSeen.getOrDefault(conversation, 0L);
            if (seq < before) {
                violations.add(name + " read seq " + seq + " of " + conversation + " after seq " + before);
            }
            newestSeen.merge(conversation, seq, Math::max);
            long due = acknowledged.get(conversation).stream()
                    .filter(ack -> ack[1] < began - BOUND.toNanos()).mapToLong(ack -> ack[0]).max().orElse(0);
            if (seq < due) {
                violations.add(name + " read seq " + seq + " of " + conversation + ", but seq " + due
                        + " was acknowledged more than " + BOUND.toMillis() + " ms before");
            }
        }
    }

    @Test
    void a_guests_inbox_follows_the_group_through_the_other_instance() {
        String character = Fixtures.character(viaFirst, "Kai");
        String owner = Fixtures.user(viaFirst, "owner-" + System.nanoTime());
        String guest = Fixtures.user(viaFirst, "guest-" + System.nanoTime());
        String group = Fixtures.conversation(viaFirst, owner, character);
        String path = "/v1/conversations/" + group;
        String inbox = "/v1/users/" + guest + "/inbox";
        cacheOnSecond(inbox, path);

        viaFirst.postOk(201, path + "/members", Map.of("user_id", guest));
        seenOnSecond("the group joined", () -> viaSecond.getOk(inbox).get("conversations").size() == 1);
        seenOnSecond("the new member", () -> viaSecond.getOk(path).get("user_ids").size() == 2);

        Fixtures.say(viaFirst, group, "user", "welcome");
        seenOnSecond("the owner's message", () -> unread(guest) == 1);

        viaFirst.postOk(201, path + "/messages", Map.of("content", "thanks", "user_id", guest));
        seenOnSecond("the guest's own message", () -> unread(guest) == 0);

        assertThat(viaFirst.delete(path + "/members/users/" + guest).status()).isEqualTo(204);
        seenOnSecond("the group left", () -> viaSecond.getOk(inbox).get("conversations").isEmpty());
    }

    @Test
    void an_erasure_through_one_instance_leaves_nothing_of_the_user_cached_on_the_other() {
        String character = Fixtures.character(viaFirst, "Vega");
        String user = Fixtures.user(viaFirst, "erased-" + System.nanoTime());
        String conversation = Fixtures.conversation(viaFirst, user, character);
        Fixtures.say(viaFirst, conversation, "user", "something personal");
        viaFirst.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", "a secret",
                "embedding", List.of(1.0, 0.0)));
        String path = "/v1/conversations/" + conversation;
        cacheOnSecond("/v1/users/" + user, path, path + "/messages", "/v1/users/" + user + "/inbox");
        double scopesHeld = TwoInstancesWithRedisTest.meter(viaSecond, "cache_size", "cache=\"recall_vectors\""); // others' too
        viaSecond.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id", character, "embedding", List.of(1.0, 0.0)));
        assertThat(TwoInstancesWithRedisTest.meter(viaSecond, "cache_size", "cache=\"recall_vectors\"")).isEqualTo(scopesHeld + 1);

        assertThat(viaFirst.delete("/v1/users/" + user).status()).isEqualTo(200);

        seenOnSecond("the user gone", () -> viaSecond.get("/v1/users/" + user).status() == 404);
        seenOnSecond("the conversation gone", () -> viaSecond.get(path).status() == 404);
        seenOnSecond("the history gone", () -> viaSecond.get(path + "/messages").status() == 404);
        seenOnSecond("the inbox gone", () -> viaSecond.get("/v1/users/" + user + "/inbox").status() == 404);
        seenOnSecond("the recall vectors dropped",
                () -> TwoInstancesWithRedisTest.meter(viaSecond, "cache_size", "cache=\"recall_vectors\"") == scopesHeld);
    }

    /**
     * An inbox is the user's as well as its conversations': an empty one, cached while the user was there (as another
     * instance may read it between an erasure's batches of conversations and its last step), goes with the user.
     */
    @Test
    void an_empty_inbox_cached_on_the_other_instance_goes_when_its_user_is_erased() {
        String user = Fixtures.user(viaFirst, "empty-" + System.nanoTime());
        String inbox = "/v1/users/" + user + "/inbox";
        assertThat(viaSecond.getOk(inbox).get("conversations")).isEmpty();

        assertThat(viaFirst.delete("/v1/users/" + user).status()).isEqualTo(200);

        seenOnSecond("the user gone", () -> viaSecond.get("/v1/users/" + user).status() == 404);
        seenOnSecond("the empty inbox gone", () -> viaSecond.get(inbox).status() == 404);
    }

    @Test
    void memory_writes_through_one_instance_are_recalled_through_the_other_within_the_bound() {
        String character = Fixtures.character(viaFirst, "Luna");
        String user = Fixtures.user(viaFirst, "remembers-" + System.nanoTime());
        String memories = "/v1/users/" + user + "/memories";
        String cello = viaFirst.postOk(201, memories, Map.of("character_id", character, "content", "plays the cello",
                "embedding", List.of(1.0, 0.0))).get("id").asText();
        Map<String, Object> everyOne = Map.of("character_id", character, "embedding", List.of(1.0, 0.0), "limit", 10,
                "min_similarity", -1, "adaptive", false);
        assertThat(recalledOnSecond(memories, everyOne)).containsExactly("plays the cello"); // its version now held there

        viaFirst.postOk(201, memories, Map.of("character_id", character, "content", "lives in Lyon", "embedding", List.of(0.0, 1.0)));
        seenOnSecond("a new memory", () -> recalledOnSecond(memories, everyOne).size() == 2);
        viaFirst.patch("/v1/memories/" + cello, Map.of("content", "plays the viola"));
        seenOnSecond("a changed text", () -> recalledOnSecond(memories, everyOne).contains("plays the viola"));
        assertThat(viaFirst.delete("/v1/memories/" + cello).status()).isEqualTo(204);
        seenOnSecond("a deleted memory", () -> recalledOnSecond(memories, everyOne).equals(List.of("lives in Lyon")));
    }

    private List<String> recalledOnSecond(String memories, Map<String, Object> body) {
        List<String> contents = new ArrayList<>();
        viaSecond.postOk(200, memories + "/recall", body).get("memories").forEach(m -> contents.add(m.get("memory").get("content").asText()));
        return contents;
    }

    @Test
    void an_instance_skips_the_notices_of_its_own_appends_and_read_markers_and_the_other_hears_them() {
        String user = Fixtures.user(viaFirst, "own-" + System.nanoTime());
        String conversation = Fixtures.conversation(viaFirst, user, Fixtures.character(viaFirst, "Ivy"));
        awaitNoticesHeardByBoth();
        double firstHeard = notices(viaFirst, "c") + notices(viaFirst, "i");
        double secondHeard = notices(viaSecond, "c") + notices(viaSecond, "i");

        String said = Fixtures.say(viaFirst, conversation, "assistant", "mine").get("id").asText();
        viaFirst.postOk(200, "/v1/conversations/" + conversation + "/read", Map.of("message_id", said));
        awaitNoticesHeardByBoth();

        // The writer dropped the views itself (V25): hearing its own notices would drop again what was read since.
        assertThat(notices(viaFirst, "c") + notices(viaFirst, "i")).as("notices the writing instance acted on").isEqualTo(firstHeard);
        assertThat(notices(viaSecond, "c") + notices(viaSecond, "i")).as("notices the other instance acted on")
                .isGreaterThanOrEqualTo(secondHeard + 2);
    }

    /**
     * Waits until both instances have heard of a later change, a profile update (whose notice names no origin):
     * notices arrive in commit order, so both have then heard of every change before it.
     */
    private void awaitNoticesHeardByBoth() {
        String bystander = Fixtures.user(viaFirst, "bystander-" + System.nanoTime());
        double first = notices(viaFirst, "u");
        double second = notices(viaSecond, "u");
        viaFirst.postOk(200, "/v1/users", Map.of("external_id", viaFirst.getOk("/v1/users/" + bystander).get("external_id").asText(),
                "profile", Map.of("seen", true)));
        Wait.until("both instances to hear of a profile update", Duration.ofSeconds(5),
                () -> notices(viaFirst, "u") > first && notices(viaSecond, "u") > second);
    }

    private static double notices(Api instance, String kind) {
        return TwoInstancesWithRedisTest.meter(instance, "parley_cache_notices_total", "kind=\"" + kind + "\"");
    }

    private void cacheOnSecond(String... paths) {
        for (String path : paths) {
            viaSecond.getOk(path);
        }
    }

    void seenOnSecond(String what, java.util.concurrent.Callable<Boolean> condition) {
        Duration took = Wait.until(what + " through the other instance", BOUND, condition);
        assertThat(took).as(what).isLessThan(BOUND);
    }

    private long unread(String user) {
        return viaSecond.getOk("/v1/users/" + user + "/inbox").get("conversations").get(0).get("unread_count").asLong();
    }
}
